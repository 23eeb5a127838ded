"""Issuing and checking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from apps.api.models import ApiToken

PREFIX = "paas_"
# last_used is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(*, user: Any, name: str, expires_in: int | None = None) -> tuple[ApiToken, str]:
    """Returns the stored token and its secret, which is shown once and never stored."""
    secret = PREFIX + secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(seconds=expires_in) if expires_in else None
    token = ApiToken.objects.create(
        user=user,
        name=name[:100] or "API token",
        digest=_digest(secret),
        prefix=secret[: len(PREFIX) + 4],
        expires=expires,
    )
    return token, secret


def token_rotate(token: ApiToken) -> str:
    """A new secret for the same token (its name, expiry and id stay); the old one stops working
    at once. Returns the new secret, shown once."""
    secret = PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.filter(pk=token.pk).update(
        digest=_digest(secret), prefix=secret[: len(PREFIX) + 4]
    )
    return secret


def user_for_token(secret: str) -> Any | None:
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(Q(expires__isnull=True) | Q(expires__gt=now), digest=_digest(secret))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used is None or now - token.last_used > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
    return token.user


def revoke_on_password_change(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """post_save of the user model: a new password ends every API token of the account, so a
    token taken along with an old password stops working with it. set_password() leaves
    `_password` set until save() is done; a hash upgraded at sign-in leaves it unset."""
    if not created and getattr(instance, "_password", None) is not None:
        ApiToken.objects.filter(user=instance).delete()
