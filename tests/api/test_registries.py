"""Registry logins through the API: an app's own and its team's, what the reconciler is given,
and that a password is stored but never shown again."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.api.tokens import token_create
from apps.platform.controller.desired import app_specs
from apps.platform.models import Activity, App, Operation, RegistryCredential, Team
from apps.platform.services import app_create
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client: Client, bob: User) -> Api:
    return Api(client, token_create(user=bob, name="test")[1])


@pytest.fixture
def app(bob: User, team: Team) -> App:
    return app_create(actor=bob, team=team, name="billing")


def registries(app: App) -> tuple[tuple[str, str, str], ...]:
    """What the reconciler will write into the app's registry Secret."""
    return app_specs([app.pk])[app.pk][1].registries


def opened(app: App) -> int:
    return Operation.objects.filter(app=app, kind="settings", target="registry").count()


def test_an_apps_login_is_set_listed_without_its_password_replaced_and_removed(api, app):
    path = "/apps/billing/registry-credentials"
    made = api("PUT", f"{path}/ghcr.io", {"username": "bot", "password": "s3cret-token"})
    assert made.status_code == 200, made.json_body
    assert made.json_body["registry"] == "ghcr.io"
    assert made.json_body["scope"] == "app"
    assert registries(app) == (("ghcr.io", "bot", "s3cret-token"),)
    assert opened(app) == 1

    replaced = api("PUT", f"{path}/ghcr.io", {"username": "bot2", "password": "n3w-token"})
    assert replaced.status_code == 200
    listed = api("GET", path)
    assert [(c["registry"], c["username"]) for c in listed.json_body] == [("ghcr.io", "bot2")]
    assert registries(app) == (("ghcr.io", "bot2", "n3w-token"),)
    assert opened(app) == 2
    # The password is in the records the reconciler reads, and nowhere a person looks.
    shown = made.content + replaced.content + listed.content
    audit = json.dumps(list(Activity.objects.filter(app=app).values("before", "after")))
    for secret in ("s3cret-token", "n3w-token"):
        assert secret.encode() not in shown
        assert secret not in audit
    assert Activity.objects.filter(app=app, action="registry.set").count() == 2

    assert api("DELETE", f"{path}/ghcr.io").status_code == 200
    assert registries(app) == ()
    assert opened(app) == 3
    again = api("DELETE", f"{path}/ghcr.io")
    assert again.status_code == 404
    assert "no login of its own to ghcr.io" in again.json_body["message"]


def test_a_teams_login_reaches_each_of_its_apps_and_an_apps_own_wins(api, bob, team, app):
    other = app_create(actor=bob, team=team, name="shop")
    made = api(
        "PUT",
        "/teams/acme/registry-credentials/registry.example.com:5000",
        {"username": "team-bot", "password": "team-pass"},
    )
    assert made.status_code == 200, made.json_body
    assert made.json_body["scope"] == "team"
    assert opened(app) == opened(other) == 1
    api("PUT", "/apps/billing/registry-credentials/ghcr.io", {"username": "a", "password": "b"})
    api(
        "PUT",
        "/apps/billing/registry-credentials/registry.example.com:5000",
        {"username": "app-bot", "password": "app-pass"},
    )
    assert registries(app) == (
        ("ghcr.io", "a", "b"),
        ("registry.example.com:5000", "app-bot", "app-pass"),
    )
    assert registries(other) == (("registry.example.com:5000", "team-bot", "team-pass"),)
    listed = api("GET", "/apps/billing/registry-credentials").json_body
    assert [(c["registry"], c["scope"]) for c in listed] == [
        ("ghcr.io", "app"),
        ("registry.example.com:5000", "app"),
    ]
    assert [c["username"] for c in api("GET", "/teams/acme/registry-credentials").json_body] == [
        "team-bot"
    ]

    # The app's own removed, the team's applies again.
    api("DELETE", "/apps/billing/registry-credentials/registry.example.com:5000")
    assert ("registry.example.com:5000", "team-bot", "team-pass") in registries(app)


@pytest.mark.parametrize(
    ("registry", "body", "message"),
    [
        ("not_a_registry", {"username": "u", "password": "p"}, "is not a registry"),
        ("ghcr.io", {"username": "u"}, "username and password"),
        ("ghcr.io", {"username": "a:b", "password": "p"}, "without ':'"),
        ("ghcr.io", {"username": "u", "password": ""}, "1 to 4096 characters"),
        ("ghcr.io", {"username": "u", "password": "x" * 5000}, "1 to 4096 characters"),
    ],
)
def test_a_bad_login_is_refused_and_nothing_changes(api, app, registry, body, message):
    refused = api("PUT", f"/apps/billing/registry-credentials/{registry}", body)
    assert refused.status_code == 422
    assert message in refused.json_body["message"]
    assert not RegistryCredential.objects.exists()
    assert opened(app) == 0
