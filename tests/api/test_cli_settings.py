"""An app's settings with the unmodified CLI against a live server: renaming it (its namespace and
objects stay), its features and labs, and the one clear answer for Heroku's own services."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from kubernetes import client

from apps.api.tokens import token_create
from apps.platform.models import Activity, App, Membership, Operation
from apps.platform.services import app_create
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def applied(app: App) -> bool:
    """Every change of the app is on the cluster (kwok runs no dyno, so none rolls out)."""
    waiting = (Operation.Status.QUEUED, Operation.Status.APPLYING)
    return not Operation.objects.filter(app=app, status__in=waiting).exists()


def said(output: str) -> str:
    """The CLI's message on one line: it wraps long ones behind a margin of "\u203a"."""
    return " ".join(output.replace("\u203a", " ").split())


def deployment(kube_api: client.ApiClient, app: App, process: str = "web") -> Any:
    return client.AppsV1Api(kube_api).read_namespaced_deployment(process, app.namespace)


def test_rename_keeps_the_namespace_and_objects_and_updates_the_git_remote(
    heroku, token, deployed, celery_worker, kube_api
):
    old = deployed.name
    wait_until(lambda: applied(deployed), timeout=60, what="the deploy reconciled")
    before = deployment(kube_api, deployed)
    checkout = heroku.home / "checkout"
    checkout.mkdir()
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    heroku("git:remote", "-a", old, token=token, cwd=checkout)
    remote = ["git", "-C", str(checkout), "remote", "get-url", "heroku"]
    assert f"/{old}.git" in subprocess.run(remote, capture_output=True, text=True).stdout

    new = f"{old}-renamed"
    renamed = heroku("apps:rename", new, "-a", old, token=token, cwd=checkout)
    assert f"Renaming {old} to {new}... done" in renamed.stderr
    assert "Git remote heroku updated" in renamed.stdout
    assert f"/{new}.git" in subprocess.run(remote, capture_output=True, text=True).stdout

    app = App.objects.get(pk=deployed.pk)
    assert (app.name, app.namespace) == (new, deployed.namespace)
    assert f"=== {new}" in heroku("apps:info", "-a", new, token=token).stdout
    gone = heroku("apps:info", "-a", old, token=token, check=False)
    assert "Couldn't find that app." in gone.stderr
    wait_until(lambda: applied(app), timeout=60, what="the rename reconciled")
    after = deployment(kube_api, app)
    # The same object, now labelled with the new name and rolled to pass it to the dynos.
    assert after.metadata.uid == before.metadata.uid
    assert after.metadata.labels["paas.dev/app"] == new
    env = {e.name: e.value for e in after.spec.template.spec.containers[0].env}
    assert env["PAAS_APP"] == new
    assert Activity.objects.filter(app=app, action="app.rename").get().before == {"name": old}


def test_a_rename_that_would_clash_is_refused_and_changes_nothing(
    heroku, token, deployed, bob, team
):
    other = app_create(actor=bob, team=team, name=f"{deployed.name}-other")
    taken = heroku("apps:rename", other.name, "-a", deployed.name, token=token, check=False)
    assert f"The name {other.name} is already taken." in said(taken.stderr)
    bad = heroku("apps:rename", "Not_A-Name", "-a", deployed.name, token=token, check=False)
    assert bad.returncode != 0
    assert App.objects.get(pk=deployed.pk).name == deployed.name
    assert not Activity.objects.filter(action="app.rename").exists()

    # The old name stays with the renamed app's namespace: a new app cannot take it.
    heroku("apps:rename", f"{deployed.name}-b", "-a", deployed.name, token=token)
    again = heroku("apps:create", deployed.name, "-t", team.name, token=token, check=False)
    assert f"app {deployed.name}-b was renamed from it and keeps its namespace" in said(
        again.stderr
    )


def test_features_switch_preboot_and_labs_switch_runtime_dyno_metadata(
    heroku, token, deployed, celery_worker, kube_api
):
    name = deployed.name
    listed = heroku("features", "-a", name, token=token).stdout
    assert f"=== App Features {name}" in listed
    assert "[+] preboot" in listed
    assert "runtime-dyno-metadata" not in listed  # a labs feature, as on Heroku
    info = heroku("features:info", "preboot", "-a", name, token=token).stdout
    assert "=== preboot" in info
    assert "Enabled:     true" in info

    heroku("features:disable", "preboot", "-a", name, token=token)
    assert "[ ] preboot" in heroku("features", "-a", name, token=token).stdout
    wait_until(lambda: applied(deployed), timeout=60, what="preboot off reconciled")
    assert deployment(kube_api, deployed).spec.strategy.type == "Recreate"
    assert deployment(kube_api, deployed, "worker").spec.strategy.type == "RollingUpdate"

    labs = heroku("labs", "-a", name, token=token).stdout
    assert "[ ] runtime-dyno-metadata" in labs
    enabled = heroku("labs:enable", "runtime-dyno-metadata", "-a", name, token=token)
    assert f"Enabling runtime-dyno-metadata for {name}... done" in enabled.stderr
    assert "[+] runtime-dyno-metadata" in heroku("labs", "-a", name, token=token).stdout
    wait_until(lambda: applied(deployed), timeout=60, what="the labs feature reconciled")
    env = {
        e.name: e.value for e in deployment(kube_api, deployed).spec.template.spec.containers[0].env
    }
    assert env["HEROKU_APP_NAME"] == name
    assert env["HEROKU_APP_ID"] == str(deployed.uid)
    heroku("labs:disable", "runtime-dyno-metadata", "-a", name, token=token)
    heroku("features:enable", "preboot", "-a", name, token=token)
    assert App.objects.get(pk=deployed.pk).features == {}

    unknown = heroku(
        "features:enable", "http-session-affinity", "-a", name, token=token, check=False
    )
    assert "Couldn't find that feature: this platform has preboot, runtime-dyno-metadata" in said(
        unknown.stderr
    )
    no_app = heroku("labs:enable", "runtime-dyno-metadata", token=token, check=False)
    assert "it is an app feature: add -a APP" in said(no_app.stderr)


def test_a_team_member_who_may_only_view_cannot_switch_features_or_rename(
    heroku, deployed, team, charlie
):
    Membership.objects.create(team=team, user=charlie, role=Membership.Role.MEMBER)
    token = token_create(user=charlie, name="cli")[1]
    assert "[+] preboot" in heroku("features", "-a", deployed.name, token=token).stdout
    denied = heroku("features:disable", "preboot", "-a", deployed.name, token=token, check=False)
    assert "manage" in denied.stderr
    renamed = heroku("apps:rename", "elsewhere", "-a", deployed.name, token=token, check=False)
    assert "manage" in renamed.stderr
    assert App.objects.filter(pk=deployed.pk, name=deployed.name, features={}).exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("pg:info",), "Add-ons (Heroku Postgres"),
        (("pg:psql",), "Add-ons (Heroku Postgres"),
        (("addons:create", "heroku-postgresql:essential-0"), "Add-ons (Heroku Postgres"),
        (("ci",), "Pipelines, review apps and Heroku CI are Heroku's services"),
        (("pipelines",), "Pipelines, review apps and Heroku CI are Heroku's services"),
        (("spaces",), "Private Spaces are Heroku's service"),
    ],
)
def test_herokus_own_services_say_what_to_use_instead(heroku, token, deployed, args, says):
    app = [] if args == ("pipelines",) or args == ("spaces",) else ["-a", deployed.name]
    answered = heroku(*args, *app, token=token, check=False)
    assert answered.returncode != 0
    assert says in said(answered.stderr), answered.stderr
    assert "does not serve" not in answered.stderr
