from django.db import migrations

# Heroku's dyno types as CPU/memory presets: (name, cpu request, cpu limit, memory MiB).
SIZES = [
    ("eco", 50, 250, 512),
    ("basic", 100, 500, 512),
    ("standard-1x", 250, 1000, 512),
    ("standard-2x", 500, 2000, 1024),
    ("performance-m", 2000, 2000, 2560),
    ("performance-l", 8000, 8000, 14336),
]


def create_sizes(apps, schema_editor):
    DynoSize = apps.get_model("platform", "DynoSize")
    for position, (name, cpu_request, cpu_limit, memory) in enumerate(SIZES):
        DynoSize.objects.update_or_create(
            name=name,
            defaults={
                "cpu_request_millicores": cpu_request,
                "cpu_limit_millicores": cpu_limit,
                "memory_request_mib": memory,
                "memory_limit_mib": memory,
                "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("platform", "0001_initial")]
    operations = [migrations.RunPython(create_sizes, migrations.RunPython.noop)]
