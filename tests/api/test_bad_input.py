"""Input that reached a 500 or a broken state: each is refused at the edge with a clear error."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.api.tokens import token_create
from apps.platform.models import App, Team
from apps.platform.services import app_create, release_deploy
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client: Client, bob: User, team: Team) -> Api:
    return Api(client, token_create(user=bob, name="test")[1])


@pytest.fixture
def app(bob: User, team: Team) -> App:
    app = app_create(actor=bob, team=team, name="billing")
    release_deploy(actor=bob, app=app, image="registry.example.com/shop:v1", commands={"web": "x"})
    return app


@pytest.mark.parametrize("number", ["\u00b2", "\u0663", "1" * 5000])
def test_a_dyno_number_that_is_not_ascii_digits_names_no_dyno(api, app, number):
    """ "²".isdigit() is true and int("²") raises: it was a 500."""
    for method, path in (
        ("DELETE", f"/apps/billing/dynos/web.{number}"),
        ("POST", f"/apps/billing/dynos/web.{number}/actions/stop"),
        ("GET", f"/apps/billing/releases/{number}"),
    ):
        response = api(method, path)
        assert response.status_code in (202, 404, 422), (method, path, response.status_code)
    listing = api("GET", "/apps/billing/releases", Range=f"version ]{number}..; max=5;")
    assert listing.status_code in (200, 206)


@pytest.mark.parametrize("expires_in", ["1" * 5000, "\u00b2", 10**400, "-5", 0])
def test_an_expires_in_out_of_range_is_refused(api, expires_in):
    response = api("POST", "/oauth/authorizations", {"expires_in": expires_in})
    assert response.status_code == 422
    assert "expires_in" in response.json_body["message"]


def test_an_app_name_with_a_nul_is_not_found(api, app):
    assert api("GET", "/apps/billing\x00").status_code == 404
