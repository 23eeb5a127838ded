from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"

    def ready(self) -> None:
        from apps.api.tokens import revoke_on_password_change

        post_save.connect(
            revoke_on_password_change,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="api-tokens-revoked-on-password-change",
        )
