"""Where the OpenID Connect provider's endpoints are: named in the settings, or read from its
discovery document (<issuer>/.well-known/openid-configuration) on first use and kept for the
life of the process. Nothing is fetched at start-up, so a provider that is down delays no
deployment and fails only the sign-ins through it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings


class ProviderUnavailable(Exception):
    """The provider could not be asked, or answered with something that is no discovery
    document for the configured issuer."""


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    userinfo: str
    jwks: str


_SETTINGS = {
    "authorization": ("OIDC_OP_AUTHORIZATION_ENDPOINT", "authorization_endpoint"),
    "token": ("OIDC_OP_TOKEN_ENDPOINT", "token_endpoint"),
    "userinfo": ("OIDC_OP_USER_ENDPOINT", "userinfo_endpoint"),
    "jwks": ("OIDC_OP_JWKS_ENDPOINT", "jwks_uri"),
}
_discovered: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def endpoints() -> Endpoints:
    """The endpoints to use; an endpoint set in the settings wins over the discovered one."""
    named = {field: getattr(settings, name) for field, (name, _) in _SETTINGS.items()}
    if all(named.values()):
        return Endpoints(**named)
    document = discovery(settings.OIDC_ISSUER)
    found = {}
    for field, (name, key) in _SETTINGS.items():
        value = named[field] or document.get(key)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise ProviderUnavailable(f"the discovery document names no {key}; set {name}")
        found[field] = value
    return Endpoints(**found)


def discovery(issuer: str) -> dict[str, Any]:
    """The issuer's discovery document, fetched once per process; a failure is not kept, so the
    next sign-in asks again."""
    if issuer in _discovered:
        return _discovered[issuer]
    with _lock:
        if issuer not in _discovered:
            _discovered[issuer] = _fetch(issuer)
    return _discovered[issuer]


def _fetch(issuer: str) -> dict[str, Any]:
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(f"{url}: {error}") from error
    # The document must speak for the issuer configured (OpenID Connect Discovery, 4.3): tokens
    # are later checked against that issuer, never against what a document claims.
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer:
        raise ProviderUnavailable(f"{url} is not the discovery document of issuer {issuer}")
    return document


def forget() -> None:
    """Drops what was discovered: the next sign-in fetches the documents again."""
    _discovered.clear()
