from django.db import migrations, models


def seal_existing(apps, schema_editor):
    """Every app gets its data key, and the values stored in clear until now are sealed by it:
    config vars, every release's snapshot, and a one-off dyno's variables not started yet."""
    from apps.platform import encryption

    App = apps.get_model("platform", "App")
    for app in App.objects.filter(data_key="").iterator():
        app.data_key = encryption.new_data_key()
        app.save(update_fields=["data_key"])
        for var in app.config_vars.all():
            var.value = encryption.seal(app, var.value)
            var.save(update_fields=["value"])
        for release in app.releases.all():
            release.config = encryption.seal_all(app, release.config)
            release.save(update_fields=["config"])
        for operation in app.operations.exclude(run={}):
            if operation.run.get("env"):
                operation.run["env"] = encryption.seal_all(app, operation.run["env"])
                operation.save(update_fields=["run"])


class Migration(migrations.Migration):
    dependencies = [("platform", "0017_dyno_ended")]

    operations = [
        migrations.AddField(
            model_name="app",
            name="data_key",
            field=models.TextField(blank=True, editable=False),
        ),
        # Values cannot be unsealed without the key: there is no way back but from a backup.
        migrations.RunPython(seal_existing, migrations.RunPython.noop),
    ]
