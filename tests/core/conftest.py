from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.core.oidc import provider

OIDC_BACKEND = "apps.core.oidc.backend.OidcBackend"
# Nothing listens there: a test with this issuer never reaches a provider.
UNREACHABLE_ISSUER = "http://127.0.0.1:1/realms/paas"
TEAM_GROUPS = {
    "/acme": {"acme": "member"},
    "/acme-admins": {"acme": "admin"},
    "/globex": {"globex": "member"},
}


@pytest.fixture
def oidc(settings: Any) -> Iterator[Any]:
    """Sign-in through an OpenID Connect provider turned on, as OIDC_ISSUER and the rest would;
    a test points OIDC_ISSUER (and the client) elsewhere where it needs to."""
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = UNREACHABLE_ISSUER
    settings.OIDC_RP_CLIENT_ID = "paas-dashboard"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_PROVIDER_NAME = "Keycloak"
    settings.OIDC_TEAM_GROUPS = TEAM_GROUPS
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, OIDC_BACKEND]
    provider.forget()
    yield settings
    provider.forget()
