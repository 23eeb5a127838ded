from __future__ import annotations

import csv
import json

import pytest

from apps.platform.models import DynoSize, Membership, Operation, Orphan, Team
from apps.platform.services import ProcessChange, formation_update, release_deploy

pytestmark = pytest.mark.django_db


def test_a_user_creates_a_team_and_becomes_its_admin(client, charlie):
    client.force_login(charlie)
    response = client.post("/teams", {"name": "initech"})
    assert response.status_code == 302
    team = Team.objects.get(name="initech")
    assert team.memberships.get(user=charlie).role == "admin"
    refused = client.post("/teams", {"name": "Not a slug!"})
    assert refused.status_code == 400
    assert b"errorlist" in refused.content


def test_team_admins_add_and_remove_members(bob_client, team, charlie):
    response = bob_client.post("/teams/acme", {"user": "charlie@example.org", "role": "member"})
    assert response.status_code == 302
    assert team.memberships.get(user=charlie).role == "member"
    bob_client.post("/teams/acme", {"user": "charlie", "remove": "on"})
    assert not team.memberships.filter(user=charlie).exists()
    unknown = bob_client.post("/teams/acme", {"user": "nobody@example.org", "role": "member"})
    assert unknown.status_code == 400
    assert b"No user" in unknown.content


def test_a_new_member_is_named_by_email_so_no_account_is_found_by_its_username(
    bob_client, team, charlie
):
    """Any user may create a team: adding `charlie` by username found his account and showed
    his email in the members list."""
    refused = bob_client.post("/teams/acme", {"user": "charlie", "role": "member"})
    assert refused.status_code == 400
    assert b"email address" in refused.content
    assert not team.memberships.filter(user=charlie).exists()
    assert charlie.email.encode() not in bob_client.get("/teams/acme").content
    bob_client.post("/teams/acme", {"user": "CHARLIE@example.org", "role": "member"})
    assert team.memberships.filter(user=charlie).exists()


def test_a_collaborator_is_named_by_email_too(bob_client, app, charlie):
    refused = bob_client.post("/apps/billing/access", {"user": "charlie", "permissions": []})
    assert refused.status_code == 400
    assert not app.collaborators.exists()


def test_the_last_admin_stays(bob_client, team, bob):
    response = bob_client.post("/teams/acme", {"user": "bob", "role": "member"})
    assert response.status_code == 400
    assert b"at least one admin" in response.content
    assert team.memberships.get(user=bob).role == "admin"


def test_members_cannot_change_members(client, bob, team, charlie):
    Membership.objects.create(team=team, user=charlie, role="member")
    client.force_login(charlie)
    assert client.post("/teams/acme", {"user": "charlie", "role": "admin"}).status_code == 403
    assert team.memberships.get(user=charlie).role == "member"


def test_a_team_of_others_does_not_exist(client, bob, team, charlie, other_team):
    client.force_login(charlie)
    assert client.get("/teams/acme").status_code == 404


def test_admin_pages_are_for_site_admins(bob_client):
    for url in ("/fleet", "/activity", "/sizes"):
        assert bob_client.get(url).status_code == 403, url


def test_editing_a_size_rolls_the_apps_that_use_it(client, root, bob, app):
    formation_update(actor=bob, app=app, changes=[ProcessChange("web", 1)])
    app.operations.update(status=Operation.Status.SUCCEEDED)
    client.force_login(root)
    basic = DynoSize.objects.get(name="basic")
    data = {
        "id": basic.pk,
        "name": "basic",
        "cpu_request_millicores": 200,
        "cpu_limit_millicores": 400,
        "memory_request_mib": 256,
        "memory_limit_mib": 512,
        "position": basic.position,
    }
    assert client.post("/sizes", data).status_code == 302
    basic.refresh_from_db()
    assert basic.cpu_limit_millicores == 400
    assert app.operations.filter(status=Operation.Status.QUEUED).count() == 1
    bad = client.post("/sizes", data | {"cpu_request_millicores": 900})
    assert bad.status_code == 400
    basic.refresh_from_db()
    assert basic.cpu_request_millicores == 200


def test_a_size_with_a_resource_that_is_not_a_number_shows_that_fields_error(client, root):
    """The model's check of the resources against each other compared None with a number: a
    500 (found by test_fuzz_forms)."""
    client.force_login(root)
    data = {
        "name": "tiny",
        "cpu_request_millicores": "abc",
        "cpu_limit_millicores": 100,
        "memory_request_mib": 64,
        "memory_limit_mib": 64,
        "position": 9,
    }
    refused = client.post("/sizes", data)
    assert refused.status_code == 400
    assert "Enter a whole number." in refused.content.decode()
    assert not DynoSize.objects.filter(name="tiny").exists()


def test_the_default_size_keeps_its_name(client, root, app):
    """New process types start at basic: once it was renamed, scaling a new one answered 500.
    (Two requests apart: test_fuzz_forms undoes each request before the next.)"""
    client.force_login(root)
    basic = DynoSize.objects.get(name="basic")
    data = {
        "id": basic.pk,
        "name": "tiny",
        "cpu_request_millicores": basic.cpu_request_millicores,
        "cpu_limit_millicores": basic.cpu_limit_millicores,
        "memory_request_mib": basic.memory_request_mib,
        "memory_limit_mib": basic.memory_limit_mib,
        "position": basic.position,
    }
    refused = client.post("/sizes", data)
    assert refused.status_code == 400
    assert "basic is the size new process types start with" in refused.content.decode()
    assert DynoSize.objects.filter(pk=basic.pk, name="basic").exists()


def test_the_fleet_lists_what_needs_attention(client, root, bob, app):
    app.operations.update(status=Operation.Status.FAILED, error="refused")
    client.force_login(root)
    content = client.get("/fleet").content.decode()
    assert ">billing</a>" in content
    assert "state-failed" in content


def test_adopting_an_orphan_into_a_team_named_with_a_nul_is_refused(client, root, team):
    """Postgres refuses a NUL in a query: a 500 (found by test_fuzz_forms)."""
    orphan = Orphan.objects.create(namespace="app-lost", app_uid="u-lost", app_name="lost")
    client.force_login(root)
    page = client.post(
        f"/fleet/orphans/{orphan.pk}", {"action": "adopt", "team": "acme\x00"}, follow=True
    )
    assert "Choose the team that will own the adopted app." in page.content.decode()
    assert Orphan.objects.filter(pk=orphan.pk).exists()


def test_global_activity_for_site_admins(client, root, app):
    client.force_login(root)
    content = client.get("/activity", {"app": "billing"}).content.decode()
    assert "Created app billing by user bob" in content


def test_activity_is_filtered_and_exported(client, root, bob, app):
    from apps.platform.services import config_update

    config_update(actor=bob, app=app, changes={"SECRET": "hunter2"})
    client.force_login(root)
    page = client.get("/activity", {"action": "config"}).content.decode()
    assert "Set SECRET config vars by user bob" in page
    assert "Created app" not in page
    exported = client.get("/activity", {"app": "billing", "format": "csv"})
    assert exported["Content-Type"] == "text/csv"
    body = b"".join(exported.streaming_content).decode().splitlines()
    assert body[0] == "created,app,actor,action,text,before,after"
    assert any(",billing,bob,config.update,Set SECRET config vars by user bob," in r for r in body)
    assert "hunter2" not in "\n".join(body)  # values never reach the audit trail
    as_json = client.get("/activity", {"actor": "bob", "format": "json"})
    records = json.loads(b"".join(as_json.streaming_content))
    assert {r["action"] for r in records} == {"app.create", "config.update"}
    assert all(r["actor"] == "bob" for r in records)


def test_the_export_links_keep_a_filter_that_holds_an_ampersand(client, root, app):
    """The links were the filters joined by hand: `a&b` became the filter `a` and a stray `b`."""
    client.force_login(root)
    page = client.get("/activity", {"actor": "a&b#c"}).content.decode()
    assert 'href="?actor=a%26b%23c&amp;format=csv"' in page


@pytest.mark.parametrize(
    "filters",
    [
        {"since": "2024-02-30"},  # well formed, no such day: parse_date raises
        {"actor": "\x00"},  # Postgres refuses a NUL in a query
        {"app": "bill\x00ing", "format": "csv"},
        {"action": "\x00", "format": "json"},
    ],
)
def test_activity_filters_that_match_no_day_or_hold_a_nul_answer_no_error(
    client, root, app, filters
):
    """Each failed: the page with a 500, an export in the middle of its stream (found by
    test_fuzz_forms)."""
    client.force_login(root)
    response = client.get("/activity", filters)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"app.create" in body or b"Created app billing" in body


def test_access_is_given_and_taken_back_per_app(bob_client, app, charlie):
    from apps.platform.models import Collaborator
    from apps.platform.permissions import app_permissions

    response = bob_client.post(
        "/apps/billing/access", {"user": "charlie@example.org", "permissions": ["deploy"]}
    )
    assert response.status_code == 302
    assert Collaborator.objects.get(app=app, user=charlie).permissions == ["view", "deploy"]
    assert app_permissions(charlie, app) == {"view", "deploy"}
    page = bob_client.get("/apps/billing/access").content.decode()
    assert "view, deploy" in page
    bob_client.post("/apps/billing/access", {"user": "charlie", "remove": "on"})
    assert app_permissions(charlie, app) == set()
    bad = bob_client.post(
        "/apps/billing/access", {"user": "nobody@example.org", "permissions": ["deploy"]}
    )
    assert bad.status_code == 400
    assert b"No user" in bad.content


def test_only_managers_give_access(client, app, charlie):
    from apps.platform.models import Collaborator

    Collaborator.objects.create(app=app, user=charlie, permissions=["view", "operate"])
    client.force_login(charlie)
    assert client.get("/apps/billing/access").status_code == 200
    refused = client.post("/apps/billing/access", {"user": "charlie", "permissions": ["manage"]})
    assert refused.status_code == 403
    assert Collaborator.objects.get(app=app, user=charlie).permissions == ["view", "operate"]


def test_the_csv_export_keeps_a_cell_from_being_read_as_a_formula(client, root, team, app):
    from django.contrib.auth.models import User

    from apps.platform.services import config_update

    # "@", "+", "-" and "=" start a formula in a spreadsheet; a username may start with three.
    for name in ("@sum", "+cmd", "-2"):
        user = User.objects.create_user(name, f"{name[1:]}x@example.org", "a password 123")
        config_update(actor=user, app=app, changes={"KEY": name})
    client.force_login(root)
    exported = client.get("/activity", {"action": "config", "format": "csv"})
    rows = list(csv.reader(b"".join(exported.streaming_content).decode().splitlines()))
    actors = {row[2] for row in rows[1:]}
    assert actors == {"'@sum", "'+cmd", "'-2"}


def test_site_admins_set_team_quotas_and_members_see_them(root, bob, bob_client, team, app):
    from django.test import Client

    release_deploy(actor=bob, app=app, image="example.com/app:v1", commands={"web": "serve"})
    assert bob_client.post("/teams/acme/quotas", {"quota_dynos": "1"}).status_code == 403
    page = bob_client.get("/teams/acme").content.decode()
    assert "Quotas" in page
    assert "Save quotas" not in page  # team admins see the quotas, site admins set them
    admin = Client()
    admin.force_login(root)
    bad = admin.post("/teams/acme/quotas", {"quota_dynos": "-1"})
    assert bad.status_code == 400
    saved = admin.post("/teams/acme/quotas", {"quota_dynos": "1", "quota_apps": ""})
    assert saved.status_code == 302
    team.refresh_from_db()
    assert (team.quota_dynos, team.quota_apps) == (1, None)
    refused = bob_client.post(
        "/apps/billing/scale", {"process": "web", "quantity": 3}, headers={"HX-Request": "true"}
    )
    assert "may hold 1 dynos; this would make 3" in refused.content.decode()
    assert list(app.process_types.values_list("quantity", flat=True)) == [1]
