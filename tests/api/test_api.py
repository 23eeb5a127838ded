"""The Heroku-shaped API through Django's test client: authentication, each resource, errors."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.api.tokens import token_create
from apps.platform.encryption import unseal_all
from apps.platform.models import App, Membership, Operation, Team
from apps.platform.services import ProcessChange, app_create, formation_update, release_deploy
from tests.helpers import HEROKU, Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client: Client, bob: User, team: Team) -> Api:
    return Api(client, token_create(user=bob, name="test")[1])


@pytest.fixture
def app(bob: User, team: Team) -> App:
    app = app_create(actor=bob, team=team, name="billing")
    release_deploy(
        actor=bob,
        app=app,
        image="registry.example.com/shop:v1",
        commands={"web": "serve", "worker": "work"},
    )
    return app


def test_it_requires_a_token(client, app):
    response = Api(client, None)("GET", "/apps")
    assert response.status_code == 401
    assert response.json_body == {"id": "unauthorized", "message": "Invalid credentials provided."}
    assert Api(client, "paas_nope")("GET", "/apps").status_code == 401


def test_heroku_login_issues_a_token_that_works(client, bob, team):
    basic = base64.b64encode(b"bob@example.org:bob password 1").decode()
    response = Api(client, None)(
        "POST",
        "/oauth/authorizations",
        {"description": "cli", "scope": ["global"]},
        Authorization=f"Basic {basic}",
    )
    assert response.status_code == 201
    token = response.json_body["access_token"]["token"]
    assert response.json_body["user"]["email"] == "bob@example.org"
    account = Api(client, token)("GET", "/account")
    assert account.status_code == 200
    assert account.json_body["email"] == "bob@example.org"
    assert token not in str(list(bob.api_tokens.values()))  # stored hashed


def test_a_new_password_ends_every_token_of_the_account(client, bob, team):
    """Tokens survived a password change: one taken with a stolen password kept working."""
    token = token_create(user=bob, name="laptop")[1]
    assert Api(client, token)("GET", "/account").status_code == 200
    bob.check_password("bob password 1")  # a sign-in may upgrade the hash: tokens stay
    bob.save()
    assert Api(client, token)("GET", "/account").status_code == 200
    bob.set_password("a new password 2")
    bob.save()
    assert Api(client, token)("GET", "/account").status_code == 401
    assert not bob.api_tokens.exists()


def test_sign_in_is_throttled_after_repeated_failures(client, bob, team, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    wrong = base64.b64encode(b"bob@example.org:wrong").decode()
    statuses = [
        Api(client, None)(
            "POST", "/oauth/authorizations", {}, Authorization=f"Basic {wrong}"
        ).status_code
        for _ in range(6)
    ]
    # The fifth failure locks the account out (django-axes), and the answer says so at once.
    assert statuses == [401] * 4 + [429] * 2
    assert (
        "Too many failed sign-ins"
        in Api(client, None)(
            "POST", "/oauth/authorizations", {}, Authorization=f"Basic {wrong}"
        ).json_body["message"]
    )
    right = base64.b64encode(b"bob@example.org:bob password 1").decode()
    refused = Api(client, None)("POST", "/oauth/authorizations", {}, Authorization=f"Basic {right}")
    assert refused.status_code == 429


def test_apps_list_create_info_and_destroy(api, app, team):
    listing = api("GET", "/users/~/apps")
    assert [a["name"] for a in listing.json_body] == ["billing"]
    assert listing.json_body[0]["owner"]["email"] == "bob@example.org"
    created = api("POST", "/apps", {"name": "shop"})
    assert created.status_code == 201
    assert created.json_body["name"] == "shop"
    assert created.json_body["team"]["name"] == "acme"
    generated = api("POST", "/apps", {})
    assert generated.status_code == 201
    info = api("GET", "/apps/shop")
    assert info.json_body["id"] == created.json_body["id"]
    assert api("GET", f"/apps/{created.json_body['id']}").json_body["name"] == "shop"
    assert api("DELETE", "/apps/shop").status_code == 200
    assert not App.objects.filter(name="shop").exists()
    assert api("GET", "/apps/shop").json_body == {
        "id": "not_found",
        "message": "Couldn't find that app.",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "Bad Name"}, "is not a valid app name"),
        ({"name": "billing"}, "already taken"),
        ({"name": 12}, "name must be a string"),
        ({"name": "other", "team": "nope"}, "Couldn't find team nope"),
    ],
)
def test_bad_app_creation_is_a_422_with_a_message(api, app, body, message):
    response = api("POST", "/apps", body)
    assert response.status_code == 422
    assert response.json_body["id"] == "invalid_params"
    assert message in response.json_body["message"]


def test_another_teams_app_is_not_found(client, app, charlie):
    other = Api(client, token_create(user=charlie, name="t")[1])
    for method, path in [
        ("GET", "/apps/billing"),
        ("GET", "/apps/billing/config-vars"),
        ("PATCH", "/apps/billing/formation"),
        ("DELETE", "/apps/billing"),
    ]:
        assert other(method, path, {}).status_code == 404, path
    assert other("GET", "/apps").json_body == []


def test_maintenance_on_and_off(api, app):
    on = api("PATCH", "/apps/billing", {"maintenance": True})
    assert on.json_body["maintenance"] is True
    assert App.objects.get(name="billing").maintenance is True
    assert api("PATCH", "/apps/billing", {"maintenance": "yes"}).status_code == 422


def test_formation_batch_update_absolute_relative_and_sizes(api, app):
    response = api(
        "PATCH",
        "/apps/billing/formation",
        {
            "updates": [
                {"quantity": "3", "type": "web"},
                {"quantity": "1", "size": "standard-2x", "type": "worker"},
            ]
        },
    )
    assert response.status_code == 200
    assert [(f["type"], f["quantity"], f["size"]) for f in response.json_body] == [
        ("web", 3, "basic"),
        ("worker", 1, "standard-2x"),
    ]
    api("PATCH", "/apps/billing/formation", {"updates": [{"quantity": "+2", "type": "web"}]})
    api("PATCH", "/apps/billing/formation", {"updates": [{"quantity": "-5", "type": "worker"}]})
    listing = api("GET", "/apps/billing/formation").json_body
    assert {f["type"]: f["quantity"] for f in listing} == {"web": 5, "worker": 0}


@pytest.mark.parametrize(
    ("updates", "status", "message"),
    [
        ([{"quantity": "lots", "type": "web"}], 422, "Invalid quantity"),
        ([{"quantity": "101", "type": "web"}], 422, "out of range"),
        ([{"quantity": "1", "type": "nope"}], 404, "Couldn't find that process type"),
        ([{"quantity": "1", "type": "web", "size": "huge"}], 422, "Unknown dyno size"),
        ([{"quantity": 1}], 422, "needs a process type"),
        ("web=3", 422, "Send"),
    ],
)
def test_bad_formation_updates_change_nothing(api, app, updates, status, message):
    response = api("PATCH", "/apps/billing/formation", {"updates": updates})
    assert response.status_code == status
    assert message in response.json_body["message"]
    assert {p.name: p.quantity for p in app.process_types.all()} == {"web": 1, "worker": 0}


def test_config_vars_get_set_and_unset_with_null(api, app):
    assert api("GET", "/apps/billing/config-vars").json_body == {}
    set_ = api("PATCH", "/apps/billing/config-vars", {"A": "1", "B": "two"})
    assert set_.json_body == {"A": "1", "B": "two"}
    unset = api("PATCH", "/apps/billing/config-vars", {"A": None})
    assert unset.json_body == {"B": "two"}
    assert "no-store" in api("GET", "/apps/billing/config-vars")["Cache-Control"]
    versions = app.releases.count()
    same = api("PATCH", "/apps/billing/config-vars", {"B": "two"})
    assert same.status_code == 200
    assert app.releases.count() == versions  # nothing changed, no release
    bad = api("PATCH", "/apps/billing/config-vars", {"1BAD": "x"})
    assert bad.status_code == 422
    assert "not a valid config var name" in bad.json_body["message"]


def test_releases_page_with_range_and_roll_back_by_id(api, bob, app):
    for n in range(3):
        release_deploy(actor=bob, app=app, image=f"registry.example.com/shop:v{n + 2}")
    latest = api("GET", "/apps/billing/releases", Range="version ..; order=desc,max=1")
    assert latest.status_code == 206
    assert [r["version"] for r in latest.json_body] == [5]
    assert latest.json_body[0]["current"] is True
    assert latest["Next-Range"] == "version ]5..; max=1, order=desc"
    rest = api("GET", "/apps/billing/releases", Range=latest["Next-Range"])
    assert [r["version"] for r in rest.json_body] == [4]
    everything = api("GET", "/apps/billing/releases", Range="version ..; max=15, order=desc")
    assert everything.status_code == 200
    assert [r["version"] for r in everything.json_body] == [5, 4, 3, 2, 1]
    v2 = api("GET", "/apps/billing/releases/2").json_body
    assert v2["description"] == "Deploy registry.example.com/shop:v1"
    assert v2["user"]["email"] == "bob@example.org"
    rolled = api("POST", "/apps/billing/releases", {"release": v2["id"]})
    assert rolled.status_code == 201
    assert rolled.json_body["version"] == 6
    assert app.releases.get(version=6).image == "registry.example.com/shop:v1"
    assert api("POST", "/apps/billing/releases", {"release": "nope"}).status_code == 404


def test_dynos_restart_all_a_type_or_one(api, app):
    assert api("DELETE", "/apps/billing/dynos").status_code == 202
    assert api("DELETE", "/apps/billing/formations/web").status_code == 202
    assert api("DELETE", "/apps/billing/dynos/web").status_code == 202
    restarts = app.operations.filter(kind=Operation.Kind.RESTART)
    targets = list(restarts.values_list("target", flat=True))
    assert sorted(targets) == ["", "web", "web"]
    assert api("DELETE", "/apps/billing/dynos/web.9").status_code == 422


def test_log_sessions_give_a_signed_url(api, app, client):
    body = {"dyno": "web", "lines": 10, "tail": False}
    response = api("POST", "/apps/billing/log-sessions", body)
    assert response.status_code == 201
    url = response.json_body["logplex_url"]
    assert url.startswith("http://testserver/api/log-sessions/")
    stream = client.get(url.removeprefix("http://testserver"))
    assert stream["Content-Type"] == "text/event-stream"
    events = stream.content.decode()  # without `tail`, the lines at once
    # No dyno has written anything; the platform events are there, in Heroku's log format.
    assert "+00:00 paas[api]: Created app billing by user bob\n" in events
    assert events.count("data: ") == 2  # created, deployed
    forged = client.get(url.removeprefix("http://testserver")[:-3] + "abc")
    assert forged.status_code == 404
    # The URL was a bearer credential for as long as it lived, whoever held it: now it is its
    # user's, whose access is checked again on every request.
    Membership.objects.filter(user__username="bob").delete()
    assert client.get(url.removeprefix("http://testserver")).status_code == 404


def test_a_log_session_for_a_dyno_named_with_a_nul_is_refused(api, app):
    """Its stream filtered the dynos by that name, which the database refuses: a 500."""
    response = api("POST", "/apps/billing/log-sessions", {"dyno": "web\x00", "tail": True})
    assert response.status_code == 422
    assert "NUL" in response.json_body["message"]


def test_errors_are_json_never_html(api, app):
    assert api("GET", "/nope").json_body["id"] == "not_found"
    assert api("PUT", "/apps/billing").status_code == 405
    bad = api("PATCH", "/apps/billing/config-vars", None, CONTENT_TYPE="application/json")
    assert bad.status_code == 200
    raw = api.client.generic(
        "PATCH",
        "/apps/billing/config-vars",
        "{not json",
        content_type="application/json",
        headers={"Accept": HEROKU, "Authorization": f"Bearer {api.token}"},
    )
    assert raw.status_code == 400
    assert json.loads(raw.content)["id"] == "bad_request"


def test_the_dashboard_is_untouched_by_the_api_routing(client, bob, app):
    client.force_login(bob)
    assert b"Formation" in client.get("/apps/billing/").content
    assert client.get("/api/apps").status_code == 401  # the API under /api/ for any client


def test_formation_updates_keep_other_types(api, bob, app):
    formation_update(actor=bob, app=app, changes=[ProcessChange("web", 2)])
    api("PATCH", "/apps/billing/formation", {"updates": [{"quantity": 1, "type": "worker"}]})
    assert {p.name: p.quantity for p in app.process_types.all()} == {"web": 2, "worker": 1}


def test_one_off_dynos_run_detached(api, app):
    response = api(
        "POST",
        "/apps/billing/dynos",
        {
            "command": "rake db:migrate",
            "attach": False,
            "size": "Standard-2X",
            "env": {"TERM": "xterm", "COLUMNS": "80"},
        },
    )
    assert response.status_code == 201, response.json_body
    dyno = response.json_body
    assert dyno["name"].startswith("run.")
    assert (dyno["type"], dyno["state"], dyno["size"]) == ("run", "starting", "standard-2x")
    operation = app.operations.get(kind=Operation.Kind.RUN)
    assert operation.target == dyno["name"]
    assert operation.run["command"] == "rake db:migrate"
    assert unseal_all(app, operation.run["env"]) == {"TERM": "xterm", "COLUMNS": "80"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"command": "bash", "attach": True}, "heroku run:detached"),
        ({"command": "  "}, "Give a command to run"),
        ({"command": 3}, "command must be a string"),
        ({"command": "x", "size": "huge"}, "Unknown dyno size"),
        ({"command": "x", "env": {"1BAD": "x"}}, "not a valid config var name"),
        ({"command": "x", "time_to_live": 0}, "time to live"),
    ],
)
def test_bad_one_off_dynos_are_refused(api, app, body, message):
    response = api("POST", "/apps/billing/dynos", body)
    assert response.status_code == 422
    assert message in response.json_body["message"]
    assert not app.operations.filter(kind=Operation.Kind.RUN).exists()


# Input that reached a 500: each is refused at the edge with a clear error.


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
