"""Who a verified sign-in through the provider is: the account of its subject, an existing one
only by an email the provider verified, a new one otherwise; never a deactivated one. The token
exchange is mozilla-django-oidc's (and tests/core/test_oidc_keycloak.py drives it for real):
here the backend is handed what that exchange verified."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.core.oidc.backend import OidcBackend, SignInRefused
from apps.platform.models import Membership, OidcIdentity
from tests.core.conftest import UNREACHABLE_ISSUER

pytestmark = pytest.mark.django_db


def claims(sub: str = "sub-1", **extra: Any) -> dict[str, Any]:
    return {
        "iss": UNREACHABLE_ISSUER,
        "aud": "paas-dashboard",
        "sub": sub,
        "preferred_username": "dora",
        "email": "dora@example.org",
        "email_verified": True,
        "given_name": "Dora",
        "groups": ["/acme"],
    } | extra


def sign_in(payload: dict[str, Any], userinfo: dict[str, Any] | None = None) -> Any:
    """The backend's answer to a token exchange that verified `payload` as the ID token, where
    the userinfo endpoint answers `userinfo` (the same claims unless given)."""
    backend = OidcBackend()
    backend.get_userinfo = lambda *args: dict(payload if userinfo is None else userinfo)
    return backend.get_or_create_user("access-token", "id-token", payload)


def roles(user: User) -> dict[str, tuple[str, str]]:
    return {m.team.name: (m.role, m.source) for m in Membership.objects.filter(user=user)}


def test_a_first_sign_in_makes_an_account_and_the_subject_finds_it_after(oidc, team):
    user = sign_in(claims())
    assert (user.username, user.email, user.first_name) == ("dora", "dora@example.org", "Dora")
    assert not user.has_usable_password()
    assert OidcIdentity.objects.get(user=user).subject == "sub-1"
    assert roles(user) == {"acme": ("member", "group")}
    # Renamed at the provider, with another email and out of the group: the same account.
    again = sign_in(claims(preferred_username="d.acme", email="d@example.net", groups=[]))
    assert again.pk == user.pk
    assert roles(again) == {}


def test_a_verified_email_links_the_existing_account(oidc, bob, team):
    user = sign_in(claims(sub="bobs-sub", preferred_username="robert", email="BOB@example.org"))
    assert user.pk == bob.pk
    assert OidcIdentity.objects.get(subject="bobs-sub").user == bob
    assert roles(bob) == {"acme": ("admin", "manual")}  # made admin by hand: it stays


def test_an_unverified_email_is_never_linked(oidc, alice):
    unverified = claims(preferred_username="alice", email="alice@example.org", email_verified=False)
    user = sign_in(unverified)
    assert user.pk != alice.pk
    assert user.username == "alice-2"
    assert user.email == ""  # an address nobody proved goes on no account
    assert not OidcIdentity.objects.filter(user=alice).exists()


def test_an_account_signed_in_through_another_subject_is_not_taken_over(oidc, alice):
    OidcIdentity.objects.create(user=alice, issuer=UNREACHABLE_ISSUER, subject="alices-sub")
    user = sign_in(claims(sub="someone-else", email="alice@example.org"))
    assert user.pk != alice.pk
    assert user.email == ""


def test_usernames_from_the_provider_are_made_safe_and_unique(oidc, alice):
    first = sign_in(claims(sub="a", preferred_username="Alice@Example.org", email_verified=False))
    second = sign_in(claims(sub="b", preferred_username=" ", email="x y@example.org"))
    third = sign_in(claims(sub="c", preferred_username=None, email=None))
    assert (first.username, second.username, third.username) == ("alice-2", "xy", "user")


def test_a_deactivated_account_can_neither_sign_in_nor_stay_signed_in(oidc, alice):
    assert sign_in(claims(email="alice@example.org")).pk == alice.pk
    assert OidcBackend().get_user(alice.pk) == alice
    User.objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(SignInRefused, match="deactivated"):
        sign_in(claims(email="alice@example.org"))
    assert OidcBackend().get_user(alice.pk) is None


def test_a_deactivated_account_is_not_linked_and_nothing_is_written(oidc, alice, team):
    User.objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(SignInRefused, match="deactivated"):
        sign_in(claims(email="alice@example.org"))
    assert not OidcIdentity.objects.exists()
    assert not Membership.objects.exists()


@pytest.mark.parametrize(
    ("payload", "userinfo"),
    [
        (claims(iss="https://elsewhere.example/realms/paas"), None),
        (claims(aud="another-client"), None),
        (claims(aud=["another-client", "more"]), None),
        (claims(), claims(sub="sub-2")),  # the userinfo speaks of someone else
    ],
)
def test_a_token_of_another_issuer_client_or_subject_is_refused(oidc, payload, userinfo):
    with pytest.raises(SignInRefused, match="could not be verified"):
        sign_in(payload, userinfo)
    assert not User.objects.exists()


def test_two_accounts_with_the_verified_email_are_refused(oidc, alice):
    User.objects.create_user("alice-old", "Alice@example.org")
    with pytest.raises(SignInRefused, match=r"More than one account uses alice@example\.org"):
        sign_in(claims(email="alice@example.org"))
