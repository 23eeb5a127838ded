"""Config values encrypted at rest, by envelope: each app has a data key of its own, stored in
its row wrapped (encrypted) by a key from the environment (CONFIG_ENCRYPTION_KEYS, Fernet keys,
the first one current); its config vars, every release's snapshot of them and a one-off dyno's
variables are stored sealed by that data key. Rotating the key from the environment re-wraps
the data keys only (`manage.py rotate_encryption_key`), and a destroyed app's values cannot be
read again, even from a backup, once its data key is gone.

Tokens are Fernet's (AES-128-CBC with HMAC-SHA256), so a value cannot be changed unnoticed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class EncryptionKeyError(Exception):
    """The keys in CONFIG_ENCRYPTION_KEYS cannot open what is stored."""


def _keys() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.CONFIG_ENCRYPTION_KEYS])


def new_data_key() -> str:
    """A fresh data key, wrapped by the current key: what App.data_key holds."""
    return _keys().encrypt(Fernet.generate_key()).decode()


def opens_with_current(wrapped: str) -> bool:
    """Whether the current key opens this data key; raises EncryptionKeyError when no key
    does."""
    try:
        Fernet(settings.CONFIG_ENCRYPTION_KEYS[0]).decrypt(wrapped.encode())
        return True
    except InvalidToken:
        pass
    try:
        _keys().decrypt(wrapped.encode())
    except InvalidToken:
        raise EncryptionKeyError(_MISSING) from None
    return False


def rewrap(wrapped: str) -> str:
    """The same data key, wrapped by the current key (opened with any of the keys)."""
    try:
        return _keys().rotate(wrapped.encode()).decode()
    except InvalidToken:
        raise EncryptionKeyError(_MISSING) from None


_MISSING = (
    "CONFIG_ENCRYPTION_KEYS holds no key that opens this data: set it to the key the values "
    "were stored with (or list the old key after the new one while rotating)."
)


@lru_cache(maxsize=4096)
def _data_key(wrapped: str, keys: tuple[str, ...]) -> Fernet:
    # `keys` is part of the cache key, so a changed setting never serves a stale opening.
    try:
        return Fernet(MultiFernet([Fernet(k) for k in keys]).decrypt(wrapped.encode()))
    except InvalidToken:
        raise EncryptionKeyError(_MISSING) from None


def _fernet(app: Any) -> Fernet:
    if not app.data_key:
        raise EncryptionKeyError(f"App {app.name} has no data key.")
    return _data_key(app.data_key, tuple(settings.CONFIG_ENCRYPTION_KEYS))


def seal(app: Any, value: str) -> str:
    return _fernet(app).encrypt(value.encode()).decode()


def unseal(app: Any, token: str) -> str:
    if not isinstance(token, str):
        raise EncryptionKeyError(f"A config value of {app.name} is not a sealed value.")
    try:
        return _fernet(app).decrypt(token.encode()).decode()
    except InvalidToken:
        raise EncryptionKeyError(
            f"A config value of {app.name} does not open with its data key."
        ) from None


def seal_all(app: Any, values: dict[str, str]) -> dict[str, str]:
    return {key: seal(app, value) for key, value in values.items()}


def unseal_all(app: Any, tokens: dict[str, str]) -> dict[str, str]:
    return {key: unseal(app, token) for key, token in tokens.items()}


def app_config(app: Any) -> dict[str, str]:
    """The app's config vars as they are set now, opened."""
    return unseal_all(app, dict(app.config_vars.values_list("key", "value")))
