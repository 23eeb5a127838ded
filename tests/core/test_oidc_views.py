"""The login page with a sign-in provider, and the pages of the round trip when it goes wrong:
each ends on the login page with a message, never an error page."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.helpers import HOSTILE

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_login_page_offers_the_provider_beside_the_password(client, oidc):
    page = client.get("/login/?next=/teams/")
    assert b'name="password"' in page.content
    assert b'href="/oidc/authenticate/?next=/teams/">Sign in with Keycloak</a>' in page.content


def test_without_a_provider_the_login_page_has_only_the_password(client):
    page = client.get("/login/")
    assert b'name="password"' in page.content
    assert b"Sign in with" not in page.content
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_an_unreachable_provider_sends_back_to_the_login_page(client, oidc):
    response = client.get("/oidc/authenticate/", follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert messages_of(response) == [
        "Keycloak cannot be reached right now. Try again in a moment, or sign in with your "
        "password."
    ]


def test_a_callback_the_browser_did_not_start_sends_back_to_the_login_page(client, oidc):
    session = client.session
    session["oidc_states"] = {"mine": {"nonce": "n", "code_verifier": "v", "added_on": 0}}
    session.save()
    response = client.get("/oidc/callback/?code=c&state=forged", follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert messages_of(response) == ["Signing in with Keycloak failed. Try again."]
    assert "_auth_user_id" not in client.session


def test_a_token_exchange_that_fails_sends_back_to_the_login_page(client, oidc, settings):
    """The state is this browser's; the provider cannot be reached for the code's exchange."""
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "http://127.0.0.1:1/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:1/token"
    settings.OIDC_OP_USER_ENDPOINT = "http://127.0.0.1:1/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = "http://127.0.0.1:1/certs"
    started = client.get("/oidc/authenticate/")
    assert started["Location"].startswith("http://127.0.0.1:1/auth?")
    state = next(iter(client.session["oidc_states"]))
    response = client.get(f"/oidc/callback/?code=c&state={state}", follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert messages_of(response) == ["Signing in with Keycloak failed. Try again."]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("access_denied", "Signing in with Keycloak was cancelled."),
        ("temporarily_unavailable", "Keycloak refused the sign-in. Try again."),
    ],
)
def test_an_error_from_the_provider_is_told_without_its_description(client, oidc, error, message):
    url = f"/oidc/callback/?error={error}&error_description=Call+0800+now&state=s"
    response = client.get(url, follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert messages_of(response) == [message]
    assert b"0800" not in response.content


def attempt_through_the_provider(address: str) -> bool:
    """A sign-in through the provider that fails (no code), as the callback asks for it; whether
    django-axes had the address locked out."""
    request = RequestFactory().get("/oidc/callback/", REMOTE_ADDR=address)
    assert authenticate(request, nonce="n", code_verifier="v") is None
    return bool(getattr(request, "axes_locked_out", False))


def test_failures_through_the_provider_lock_out_their_address_alone(oidc, alice):
    """Such a sign-in names no account: counted under a blank one, five failures anywhere would
    have refused everyone's sign-in through the provider."""
    for _ in range(5):
        attempt_through_the_provider("198.51.100.1")
    assert attempt_through_the_provider("198.51.100.1")
    assert not attempt_through_the_provider("198.51.100.2")
    password = Client(REMOTE_ADDR="198.51.100.2")
    signed_in = password.post("/login/", {"username": "alice", "password": "alice password 1"})
    assert signed_in.status_code == 302


@hypothesis_settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["code", "state", "error", "error_description", "next"]),
        HOSTILE | st.text(max_size=30),
        max_size=5,
    ),
    own_state=st.booleans(),
)
def test_any_callback_or_start_lands_on_the_login_page_and_signs_no_one_in(
    client, oidc, params, own_state
):
    """The round trip's pages take their input from anyone's link."""
    for name in ("AUTHORIZATION", "TOKEN", "USER", "JWKS"):
        setattr(oidc, f"OIDC_OP_{name}_ENDPOINT", f"http://127.0.0.1:1/{name.lower()}")
    started = client.get("/oidc/authenticate/", {"next": params.get("next", "")})
    assert started.status_code == 302
    if own_state and "state" in params:
        params["state"] = next(iter(client.session["oidc_states"]))
    response = client.get("/oidc/callback/", params)
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
