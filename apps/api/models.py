"""API tokens: what the heroku CLI and scripts sign in with. Only a digest is stored; the token
itself is shown once, when it is created."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # sha256 of the token: tokens are long and random, so no salt or slow hash is needed.
    digest = models.CharField(max_length=64, unique=True)
    # The first characters, so a user can tell their tokens apart in the list.
    prefix = models.CharField(max_length=12)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
