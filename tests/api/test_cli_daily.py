"""More of a Heroku user's daily commands, with the unmodified CLI against a live server: release
details with their config, stopping and waiting for dynos, the platform's region, stack, teams
and members, the add-ons and buildpacks it does not have, and API tokens as authorizations."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from apps.api.models import ApiToken
from apps.api.tokens import user_for_token
from apps.platform.models import Dyno, Operation
from apps.platform.services import config_update
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_releases_info_shows_a_release_and_the_config_it_ran_with(heroku, token, deployed, bob):
    name = deployed.name
    config_update(actor=bob, app=deployed, changes={"GREETING": "hello world"})  # v3
    config_update(actor=bob, app=deployed, changes={"GREETING": None})  # v4

    latest = heroku("releases:info", "-a", name, token=token).stdout
    assert "=== Release v4" in latest
    assert "Change:" in latest
    assert "Unset GREETING config vars" in latest
    assert "GREETING" not in latest.split("Config vars", 1)[1]
    old = heroku("releases:info", "v3", "--shell", "-a", name, token=token).stdout
    assert "=== Release v3" in old
    assert "GREETING='hello world'" in old


def test_ps_stop_replaces_a_dyno_or_a_types_dynos(
    heroku, token, deployed, celery_worker, observer_process
):
    name = deployed.name
    wait_until(
        lambda: Dyno.objects.filter(app=deployed, process_type="web", state="up").exists(),
        timeout=60,
        what="web.1 up",
    )
    stopped = heroku("ps:stop", "--dyno-name", "web.1", "-a", name, token=token)
    assert f"Stopping dyno web.1 on {name}... done" in stopped.stderr
    by_type = heroku("ps:stop", "--process-type", "worker", "-a", name, token=token)
    assert f"Stopping all worker dynos on {name}... done" in by_type.stderr
    restarts = Operation.objects.filter(app=deployed, kind="restart")
    assert sorted(restarts.values_list("target", flat=True)) == ["web.1", "worker"]
    missing = heroku("ps:stop", "--dyno-name", "web.9", "-a", name, token=token, check=False)
    assert f"{name} has no dyno web.9" in missing.stderr


def test_ps_wait_returns_once_every_dyno_runs_the_latest_release(
    heroku, token, deployed, celery_worker, observer_process
):
    waited = heroku("ps:wait", "-a", deployed.name, token=token)
    assert waited.returncode == 0
    web = Dyno.objects.filter(app=deployed, process_type="web")
    assert web.exists()
    assert set(web.values_list("state", flat=True)) == {"up"}


def test_the_platforms_region_stack_teams_and_members(heroku, token, deployed):
    name = deployed.name
    regions = heroku("regions", token=token).stdout
    assert "local" in regions
    assert "Common Runtime" in regions
    assert "* container" in heroku("stack", "-a", name, token=token).stdout
    teams = heroku("teams", token=token).stdout
    assert "acme" in teams
    assert "admin" in teams
    members = heroku("members", "-t", "acme", token=token).stdout
    assert "bob@example.org" in members
    assert "admin" in members


def test_no_add_ons_and_no_buildpacks_are_said_so(heroku, token, deployed):
    name = deployed.name
    assert f"No add-ons for app {name}." in heroku("addons", "-a", name, token=token).stdout
    assert "No add-ons." in heroku("addons", token=token).stdout
    assert f"{name} has no Buildpacks." in heroku("buildpacks", "-a", name, token=token).stdout


def test_a_scale_over_the_teams_quota_is_refused_with_the_reason(heroku, token, deployed):
    from apps.platform.models import Team

    Team.objects.filter(pk=deployed.team_id).update(quota_dynos=2)
    refused = heroku("ps:scale", "web=3", "-a", deployed.name, token=token, exits=2)
    assert "may hold 2 dynos; this would make 3" in refused.stderr
    assert deployed.process_types.get(name="web").quantity == 1


def test_authorizations_are_the_users_api_tokens(heroku, token, bob):
    made = heroku(
        "authorizations:create", "-d", "ci deploys", "-e", "3600", "--json", token=token
    ).stdout
    created: Any = json.loads(made)
    secret, pk = created["access_token"]["token"], created["id"]
    assert user_for_token(secret) == bob
    assert 3500 < created["access_token"]["expires_in"] <= 3600

    listed = heroku("authorizations", token=token).stdout
    assert "ci deploys" in listed
    assert pk in listed
    info = heroku("authorizations:info", pk, token=token).stdout
    assert "Description: ci deploys" in info

    rotated = heroku("authorizations:rotate", pk, token=token).stdout
    assert pk in rotated
    [new_secret] = re.findall(r"Token:\s+(paas_\S+)", rotated)
    assert new_secret != secret
    assert user_for_token(secret) is None  # the old secret stops working at once
    assert user_for_token(new_secret) == bob

    revoked = heroku("authorizations:revoke", pk, token=token)
    assert "revoked authorization from ci deploys" in revoked.stderr
    assert not ApiToken.objects.filter(pk=pk).exists()
    unknown = heroku("authorizations:info", "999999", token=token, check=False)
    assert "Couldn't find that authorization" in unknown.stderr


def test_config_get_the_token_and_the_dyno_types(heroku, token, deployed, bob):
    name = deployed.name
    config_update(actor=bob, app=deployed, changes={"GREETING": "hello world"})
    assert heroku("config:get", "GREETING", "-a", name, token=token).stdout == "hello world\n"
    assert heroku("auth:token", token=token).stdout.strip() == token
    types = heroku("ps:type", "-a", name, token=token).stdout
    assert "=== Process Types" in types
    process_types = ("web", "worker")
    rows = {
        cells[0]: cells[1:3]
        for cells in (line.split() for line in types.splitlines())
        if cells and cells[0] in process_types
    }
    web = deployed.process_types.get(name="web")
    assert rows["web"] == [web.size.name, str(web.quantity)]
    domains = heroku("domains", "-a", name, token=token)
    assert domains.returncode == 0
