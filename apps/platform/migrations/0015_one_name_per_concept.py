"""What the reconciler last applied is an app's digests; what an operation waits to see rolled out
is its generations: one name each, where both were called "applied"."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("platform", "0014_operation_indexes")]

    operations = [
        migrations.RenameField(model_name="app", old_name="applied", new_name="digests"),
        migrations.RenameField(model_name="operation", old_name="applied", new_name="generations"),
    ]
