"""The authentication backend for sign-in through the OpenID Connect provider.

mozilla-django-oidc exchanges the code, checks the ID token's signature, expiry and nonce, and
reads the userinfo; this subclass decides who signs in. A user is the provider's subject at the
issuer, stored the first time (OidcIdentity), so a changed email or username at the provider
never hands an account to someone else. The first sign-in takes over an existing account with the
same email only when the provider says it verified that email; otherwise it makes a new account.
A deactivated account stays out. Every sign-in then brings the user's group-made team
memberships in line with their groups (apps/platform/team_groups.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apps.core.oidc.provider import endpoints
from apps.platform.models import OidcIdentity
from apps.platform.team_groups import memberships_sync

log = logging.getLogger(__name__)
# A username made from the provider's claims keeps to these, and never holds "@": elsewhere a
# user may be named by username or email, and a username must never read as someone's email.
_USERNAME_UNSAFE = re.compile(r"[^a-z0-9._-]+")


class SignInRefused(Exception):
    """The provider vouched for the user, and the platform still says no; the message is shown
    on the login page."""


class OidcBackend(OIDCAuthenticationBackend):  # type: ignore[misc]  # untyped base class
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not the base class's: it reads the endpoints, and Django makes every backend for each
        # authenticate() call, password sign-ins included. Endpoints are looked up on use.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return endpoints().token

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return endpoints().userinfo

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return endpoints().jwks

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> Any:
        # Only the callback's call, which brings the nonce it stored: a password sign-in posted to
        # a URL carrying ?code=...&state=... must not start a token exchange.
        if not settings.OIDC_ENABLED or not credentials.get("nonce"):
            return None
        return super().authenticate(request, **credentials)

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # The base class demands an email; an account without one is made without one.
        return bool(claims.get("sub"))

    def get_user(self, user_id: int) -> Any:
        # The base class returns deactivated users too, which would keep their sessions alive.
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        """The user the verified ID token (`payload`) and the userinfo speak for."""
        issuer = str(payload.get("iss", "")).rstrip("/")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        # mozilla-django-oidc checks neither: a token another issuer made, or made for another
        # client of the same provider, must not sign anyone in here.
        if issuer != settings.OIDC_ISSUER or self.OIDC_RP_CLIENT_ID not in audiences:
            log.warning("ID token from issuer %r for audience %r refused", issuer, audience)
            raise SignInRefused("The sign-in could not be verified. Try again.")
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub") or not payload.get("sub"):
            raise SignInRefused("The sign-in could not be verified. Try again.")
        claims = payload | userinfo
        try:
            return self._signed_in(issuer, claims)
        except IntegrityError:
            # A new user signing in twice at once (two tabs): the other sign-in made the account
            # or the memberships first; this one finds them now.
            return self._signed_in(issuer, claims)

    @transaction.atomic
    def _signed_in(self, issuer: str, claims: dict[str, Any]) -> Any:
        user = self._user_for(issuer, str(claims["sub"]), claims)
        memberships_sync(user=user, groups=groups_of(claims))
        return user

    def _user_for(self, issuer: str, subject: str, claims: dict[str, Any]) -> Any:
        identity = OidcIdentity.objects.filter(issuer=issuer, subject=subject)
        found = identity.select_related("user").first()
        if found is not None:
            user = found.user
        else:
            user = self._linked(issuer, claims) or self._created(claims)
            OidcIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        if not user.is_active:
            raise SignInRefused("This account is deactivated. Ask a site administrator.")
        return user

    def _linked(self, issuer: str, claims: dict[str, Any]) -> Any:
        """The existing account with this email, when the provider verified the email and the
        account is not signed in through another subject already."""
        email = verified_email(claims)
        if not email:
            return None
        users = self.UserModel.objects.filter(email__iexact=email).exclude(
            oidc_identities__issuer=issuer
        )
        found = list(users[:2])
        if len(found) > 1:
            raise SignInRefused(
                f"More than one account uses {email}: ask a site administrator to sort them out."
            )
        return found[0] if found else None

    def _created(self, claims: dict[str, Any]) -> Any:
        # The email goes on the account only when verified and nobody else's: team admins add
        # people by email, and must find the person who owns the address.
        email = verified_email(claims)
        if email and self.UserModel.objects.filter(email__iexact=email).exists():
            email = ""
        base = _username_base(claims)
        for number in range(1, 100):
            username = base if number == 1 else f"{base}-{number}"
            if self.UserModel.objects.filter(username__iexact=username).exists():
                continue
            try:
                with transaction.atomic():
                    return self.UserModel.objects.create_user(
                        username,
                        email=email,
                        first_name=str(claims.get("given_name", ""))[:150],
                        last_name=str(claims.get("family_name", ""))[:150],
                    )
            except IntegrityError:
                continue  # taken meanwhile by a sign-in at the same moment
        raise SignInRefused("No free username was found for this account. Ask an administrator.")


def verified_email(claims: dict[str, Any]) -> str:
    """The email, when the provider says it verified it ("true" too: some send a string)."""
    email = claims.get("email")
    verified = claims.get("email_verified")
    if isinstance(email, str) and "@" in email and verified in (True, "true"):
        return email.strip()
    return ""


def groups_of(claims: dict[str, Any]) -> list[str]:
    """The groups claim (OIDC_GROUPS_CLAIM) as a list of names; missing, it is no group."""
    groups = claims.get(settings.OIDC_GROUPS_CLAIM, [])
    if isinstance(groups, str):
        groups = [groups]
    return [group for group in groups if isinstance(group, str)] if isinstance(groups, list) else []


def _username_base(claims: dict[str, Any]) -> str:
    for claim in ("preferred_username", "email"):
        value = str(claims.get(claim) or "").split("@")[0].lower()
        if base := _USERNAME_UNSAFE.sub("", value)[:140]:
            return base
    return "user"
