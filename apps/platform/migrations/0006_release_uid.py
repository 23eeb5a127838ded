import uuid

from django.db import migrations, models


def fill_uids(apps, schema_editor):
    Release = apps.get_model("platform", "Release")
    for release in Release.objects.filter(uid__isnull=True):
        release.uid = uuid.uuid4()
        release.save(update_fields=["uid"])


class Migration(migrations.Migration):
    dependencies = [("platform", "0005_memberships")]

    operations = [
        # As for App.uid: nullable, filled per row, then unique.
        migrations.AddField(
            model_name="release", name="uid", field=models.UUIDField(null=True, editable=False)
        ),
        migrations.RunPython(fill_uids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="release",
            name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
