from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.platform.encryption import EncryptionKeyError, rewrap
from apps.platform.models import App


class Command(BaseCommand):
    help = (
        "Re-wraps every app's data key with the first of CONFIG_ENCRYPTION_KEYS. Rotate by "
        "putting a new key first and the old one after it, running this, then dropping the old "
        "key: the values themselves are not touched."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = 0
        for pk in App.objects.values_list("pk", flat=True):
            with transaction.atomic():
                app = App.objects.select_for_update().get(pk=pk)
                if not app.data_key:
                    continue
                try:
                    wrapped = rewrap(app.data_key)
                except EncryptionKeyError as error:
                    raise CommandError(f"{app.name}: {error}") from None
                App.objects.filter(pk=pk).update(data_key=wrapped)
                rotated += 1
        self.stdout.write(f"{rotated} data keys wrapped with the current key")
