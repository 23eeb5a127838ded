from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.platform.models import (
    App,
    Collaborator,
    DynoSize,
    Membership,
    Operation,
    ProcessStatus,
    ProcessType,
    Team,
)
from apps.platform.services import ProcessChange, app_create, formation_update

pytestmark = pytest.mark.django_db


def _settle(app: App) -> None:
    app.operations.update(status=Operation.Status.SUCCEEDED)


def test_it_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_it_lists_only_the_apps_of_the_users_teams(bob_client, app, charlie, other_team):
    app_create(actor=charlie, team=other_team, name="secret-app")
    response = bob_client.get("/")
    assert response.status_code == 200
    assert b"billing" in response.content
    assert b"secret-app" not in response.content


def test_site_admins_see_every_app(client, root, app, charlie, other_team):
    app_create(actor=charlie, team=other_team, name="secret-app")
    client.force_login(root)
    content = client.get("/").content
    assert b"billing" in content
    assert b"secret-app" in content


def test_it_searches_by_name_and_answers_htmx_with_the_rows_only(bob_client, bob, team, app):
    app_create(actor=bob, team=team, name="shop")
    response = bob_client.get("/", {"q": "sho"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"shop" in response.content
    assert b"billing" not in response.content
    assert b"<html" not in response.content
    assert b'id="app-rows"' in response.content


def test_it_searches_team_names_and_takes_the_query_literally(bob_client, bob, team, app):
    other = Team.objects.create(name="payments")
    Membership.objects.create(team=other, user=bob)
    app_create(actor=bob, team=other, name="ledger")
    content = bob_client.get("/", {"q": "PAYM"}).content
    assert b"ledger" in content
    assert b"billing" not in content
    # LIKE's wildcards match themselves only: no app name holds one.
    for query in ("%", "_", "\\"):
        assert b"No apps match" in bob_client.get("/", {"q": query}).content, query


def test_a_nul_in_the_query_is_dropped(bob_client, app):
    """Postgres refuses a NUL in a query: the search answered 500 (found by test_fuzz_forms)."""
    for query in ("\x00", "bil\x00l"):
        response = bob_client.get("/", {"q": query})
        assert response.status_code == 200
        assert b">billing</a>" in response.content, query


def test_a_collaborator_outside_the_team_sees_that_app_only(client, bob, team, app, charlie):
    app_create(actor=bob, team=team, name="payroll")
    Collaborator.objects.create(app=app, user=charlie, permissions=["view"])
    client.force_login(charlie)
    content = client.get("/").content
    assert b"billing" in content
    assert b"payroll" not in content
    assert client.get("/apps/billing/").status_code == 200
    assert client.get("/apps/payroll/").status_code == 404


def test_a_history_restore_gets_the_whole_page_and_every_answer_varies_on_hx_request(
    bob_client, app
):
    # htmx asks for the page again when its history cache misses (back after a search): a bare
    # fragment would then replace the whole page.
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    whole = bob_client.get("/", {"q": "bil"}, headers=restore)
    assert b"<html" in whole.content
    assert b"billing" in whole.content
    # One URL, two bodies: caches (the browser's back-forward cache among them) must key on it.
    fragment = bob_client.get("/", {"q": "bil"}, headers={"HX-Request": "true"})
    plain = bob_client.get("/", {"q": "bil"})
    for response in (whole, fragment, plain):
        assert "HX-Request" in response.headers["Vary"]


def test_it_shows_each_apps_state(bob_client, bob, team):
    basic = DynoSize.objects.get(name="basic")
    states = {}
    for name in ("failing", "rolling", "handmade", "serving", "idle"):
        app = app_create(actor=bob, team=team, name=name)
        _settle(app)
        ProcessType.objects.create(app=app, name="web", quantity=2, size=basic)
        ProcessStatus.objects.create(app=app, name="web", desired=2, state="complete")
        states[name] = app
    ProcessStatus.objects.filter(app=states["failing"]).update(state="failed")
    states["rolling"].operations.create(kind="scale", status=Operation.Status.ROLLING_OUT)
    ProcessStatus.objects.filter(app=states["handmade"]).update(desired=5)  # kubectl scale
    ProcessType.objects.filter(app=states["idle"]).update(quantity=0)
    ProcessStatus.objects.filter(app=states["idle"]).update(desired=0)
    content = bob_client.get("/").content.decode()
    for name, state in [
        ("failing", "failed"),
        ("rolling", "deploying"),
        ("handmade", "drifted"),
        ("serving", "running"),
        ("idle", "stopped"),
    ]:
        row = content[content.index(f">{name}</a>") :].split("</tr>")[0]
        assert f"state-{state}" in row, (name, row)
    filtered = bob_client.get("/", {"state": "drifted"}).content
    assert b"handmade" in filtered
    assert b"serving" not in filtered


def test_a_failed_operation_shows_until_a_later_one_succeeds(bob_client, bob, app):
    _settle(app)
    app.operations.create(kind="deploy", status=Operation.Status.FAILED, error="bad image")
    assert b"state-failed" in bob_client.get("/").content
    formation_update(actor=bob, app=app, changes=[ProcessChange("web", quantity=1)])
    assert b"state-deploying" in bob_client.get("/").content


def _many_apps(team: Team, count: int) -> None:
    basic = DynoSize.objects.get(name="basic")
    start = App.objects.count()
    apps = App.objects.bulk_create(
        App(name=f"app-{start + i:04d}", team=team, namespace=f"app-app-{start + i:04d}")
        for i in range(count)
    )
    ProcessType.objects.bulk_create(
        ProcessType(app=app, name=name, quantity=1, size=basic)
        for app in apps
        for name in ("web", "worker", "clock")
    )


def test_the_list_takes_a_constant_number_of_queries(bob_client, team, app):
    """1,000 apps and 3,000 process types cost the same queries as one app."""
    with CaptureQueriesContext(connection) as few:
        assert bob_client.get("/").status_code == 200
    _many_apps(team, 1000)
    assert ProcessType.objects.count() >= 3000
    with CaptureQueriesContext(connection) as many:
        response = bob_client.get("/")
    assert response.status_code == 200
    assert b"1001 apps" in response.content  # paginated, with the total
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
    assert len(many) <= 8


def test_other_users_see_nothing(client, app):
    client.force_login(User.objects.create_user("dave", "d@example.org", "dave password 1"))
    assert b"No apps yet" in client.get("/").content
