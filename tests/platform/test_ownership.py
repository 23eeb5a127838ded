"""Never touch what is not ours: the installation label on everything, deletion only on proof (a
tombstone), orphans reported and never deleted for being unknown, a cap on a cycle's deletions,
and no adoption of a namespace someone else made."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import override_settings
from kubernetes import client

from apps.core.health import run_checks
from apps.kube import adapter
from apps.kube.adapter import Cluster
from apps.kube.manifests import APP_UID_LABEL, INSTALLATION_LABEL, MANAGED_BY, MANAGER
from apps.platform.controller import resync as cycle
from apps.platform.controller.converge import plan
from apps.platform.controller.desired import app_specs
from apps.platform.controller.reconcile import reconcile_app, teardown
from apps.platform.controller.resync import LISTED, resync
from apps.platform.encryption import app_config
from apps.platform.installation import installation
from apps.platform.models import (
    Activity,
    App,
    Operation,
    Orphan,
    ProcessType,
    Release,
    Tombstone,
)
from apps.platform.orphans import orphan_adopt, orphan_delete
from apps.platform.registries import registry_login_set
from apps.platform.services import (
    ProcessChange,
    app_create,
    app_destroy,
    autoscale_update,
    config_update,
    formation_update,
    process_settings_update,
)
from tests.helpers import wait_until
from tests.platform.conftest import IMAGE, deployed

pytestmark = pytest.mark.cluster


@pytest.fixture
def make(alice, team, kube):
    """Apps made by a test, reconciled."""

    def create() -> App:
        app = deployed(alice, team, "own")
        reconcile_app(app.pk, kube=kube)
        return app

    return create


def namespace_alive(kube: Cluster, name: str) -> bool:
    found = kube.read("Namespace", None, name)
    return found is not None and not found["metadata"].get("deletionTimestamp")


def foreign_namespace(kube_api: client.ApiClient, name: str, labels: dict[str, str]) -> None:
    client.CoreV1Api(kube_api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
    )


def test_every_object_carries_the_installation_label(make, kube, settings):
    app = make()

    for kind in LISTED | {"Secret"}:
        for obj in kube.list_owned(kind, namespace=None if kind == "Namespace" else app.namespace):
            if obj["metadata"]["labels"].get(APP_UID_LABEL) == str(app.uid):
                assert obj["metadata"]["labels"][INSTALLATION_LABEL] == settings.INSTALLATION_ID


def test_an_app_missing_from_the_records_is_an_orphan_never_deleted(make, kube, kube_api):
    app = make()
    App.objects.filter(pk=app.pk).delete()  # an older backup, an emptied table

    for _ in range(3):
        report = resync(kube)
        assert app.namespace in report.orphans
        assert report.deleted == []

    assert namespace_alive(kube, app.namespace)
    orphan = Orphan.objects.get(namespace=app.namespace)
    assert (orphan.app_uid, orphan.app_name) == (str(app.uid), app.name)
    assert Activity.objects.filter(action="orphan.found", app_name=app.name).count() == 1
    [check] = [c for c in run_checks() if c.name == "ownership"]
    assert "orphan" in check.detail


def test_another_installations_objects_are_neither_seen_nor_touched(make, kube, kube_api):
    make()
    name = f"other-{uuid.uuid4().hex[:8]}"
    labels = {MANAGED_BY: MANAGER, INSTALLATION_LABEL: "someone-else", APP_UID_LABEL: "x"}
    foreign_namespace(kube_api, name, labels)
    try:
        report = resync(kube)

        assert name not in report.orphans
        assert all(o["metadata"]["name"] != name for o in kube.list_owned("Namespace"))
        assert namespace_alive(kube, name)
        with pytest.raises(adapter.NotOurs):
            kube.delete_namespace(name, "x")
        assert namespace_alive(kube, name)
    finally:
        client.CoreV1Api(kube_api).delete_namespace(name)


def test_a_destroyed_apps_namespace_goes_with_its_tombstone(make, alice, kube, kube_api):
    app = make()
    app_destroy(actor=alice, app=app)  # its teardown task is lost: the resync has the proof
    assert Tombstone.objects.filter(app_uid=str(app.uid)).exists()

    report = resync(kube)

    assert report.deleted == [app.namespace]
    assert not namespace_alive(kube, app.namespace)
    wait_until(
        lambda: not kube.read("Namespace", None, app.namespace),
        timeout=60,
        what=f"{app.namespace} to be gone",
    )
    resync(kube)
    assert not Tombstone.objects.filter(app_uid=str(app.uid)).exists()


def test_the_teardown_never_deletes_without_a_tombstone(make, kube, kube_api):
    app = make()

    teardown(kube, str(app.uid))

    assert namespace_alive(kube, app.namespace)


def test_a_resync_over_the_deletion_cap_deletes_nothing_and_raises_the_alarm(
    make, alice, kube, kube_api, settings
):
    apps = [make(), make()]
    for app in apps:
        app_destroy(actor=alice, app=app)
    settings.MAX_DELETIONS_PER_RESYNC = 1

    report = resync(kube)

    assert report.held == 2
    assert report.deleted == []
    assert all(namespace_alive(kube, app.namespace) for app in apps)
    assert installation().deletions_held == 2
    assert Activity.objects.filter(action="resync.deletions_held").count() == 1
    [check] = [c for c in run_checks() if c.name == "ownership"]
    assert not check.ok
    assert "holding back 2 deletions" in check.detail

    settings.MAX_DELETIONS_PER_RESYNC = 2
    report = resync(kube)

    assert sorted(report.deleted) == sorted(app.namespace for app in apps)
    assert installation().deletions_held == 0


def test_creating_an_app_over_a_foreign_namespace_fails_and_changes_nothing(alice, team, kube_api):
    name = f"mine-{uuid.uuid4().hex[:8]}"
    foreign_namespace(kube_api, f"app-{name}", {"owner": "someone"})
    try:
        with pytest.raises(ValidationError, match="was not made by this platform"):
            app_create(actor=alice, team=team, name=name)

        assert not App.objects.filter(name=name).exists()
        found = client.CoreV1Api(kube_api).read_namespace(f"app-{name}")
        assert INSTALLATION_LABEL not in found.metadata.labels
    finally:
        client.CoreV1Api(kube_api).delete_namespace(f"app-{name}")


def test_a_foreign_namespace_made_after_the_app_fails_its_operation(alice, team, kube, kube_api):
    app = app_create(actor=alice, team=team, name=f"late-{uuid.uuid4().hex[:8]}")
    foreign_namespace(kube_api, app.namespace, {"owner": "someone"})
    try:
        reconcile_app(app.pk, kube=kube)

        operation = app.operations.get()
        assert operation.status == Operation.Status.FAILED
        assert "was not made by this platform" in operation.error
        found = client.CoreV1Api(kube_api).read_namespace(app.namespace)
        assert INSTALLATION_LABEL not in found.metadata.labels
        assert client.CoreV1Api(kube_api).list_namespaced_secret(app.namespace).items == []
    finally:
        client.CoreV1Api(kube_api).delete_namespace(app.namespace)


@pytest.mark.parametrize(
    ("prefix", "name"), [("kube-", "system"), ("", "default"), ("", "kube-dns")]
)
def test_names_that_land_in_a_reserved_namespace_are_refused(alice, team, prefix, name):
    with override_settings(APP_NAMESPACE_PREFIX=prefix), pytest.raises(ValidationError) as error:
        app_create(actor=alice, team=team, name=name)

    assert error.value.code == "reserved_namespace"
    assert not App.objects.exists()


def test_adopting_an_orphan_rebuilds_records_that_match_what_runs(make, alice, team, kube):
    app = make()
    config_update(actor=alice, app=app, changes={"GREETING": "hello", "EMPTY": ""})
    autoscale_update(actor=alice, app=app, process="worker", minimum=1, maximum=4, cpu_percent=60)
    process_settings_update(
        actor=alice,
        app=app,
        process="web",
        healthcheck="http",
        healthcheck_path="/up",
        initial_delay=3,
        timeout=2,
        max_surge="1",
        max_unavailable="0",
    )
    reconcile_app(app.pk, kube=kube)
    version = app.releases.order_by("-version").first().version
    name, uid = app.name, str(app.uid)
    App.objects.filter(pk=app.pk).delete()
    resync(kube)
    orphan = Orphan.objects.get(app_uid=uid)

    adopted = orphan_adopt(actor=alice, orphan=orphan, team=team)

    assert (adopted.name, str(adopted.uid)) == (name, uid)
    assert not Orphan.objects.filter(app_uid=uid).exists()
    assert app_config(adopted) == {
        "GREETING": "hello",
        "EMPTY": "",
    }
    release = Release.objects.get(app=adopted)
    assert (release.version, release.image) == (version, IMAGE)
    worker = ProcessType.objects.get(app=adopted, name="worker")
    assert (worker.autoscale_min, worker.autoscale_max, worker.autoscale_cpu_percent) == (1, 4, 60)
    # The records say exactly what runs: reconciling them changes nothing on the cluster.
    [(_, spec)] = app_specs([adopted.pk]).values()
    live = [
        o
        for kind in LISTED | {"Secret"}
        for o in kube.list_owned(kind, namespace=None if kind == "Namespace" else app.namespace)
        if o["metadata"]["labels"].get(APP_UID_LABEL) == uid
    ]
    todo = plan(spec, live, {}, LISTED | {"Secret"})
    assert [(m["kind"], paths) for m, _, paths in todo.apply] == []
    assert todo.delete == []


def test_deleting_an_orphan_removes_it_and_nothing_else(make, alice, kube, kube_api):
    doomed, kept = make(), make()
    App.objects.filter(pk__in=[doomed.pk, kept.pk]).delete()
    resync(kube)

    orphan_delete(actor=alice, orphan=Orphan.objects.get(namespace=doomed.namespace))
    teardown(kube, str(doomed.uid))  # what the task does after the commit

    assert not namespace_alive(kube, doomed.namespace)
    assert namespace_alive(kube, kept.namespace)
    assert Activity.objects.filter(action="orphan.delete", app_name=doomed.name).exists()


def test_one_apps_failure_never_costs_the_others_their_cycle(make, kube, kube_api):
    broken, drifted = make(), make()
    # A record the manifests cannot be built from: a config value that is not text.
    Release.objects.filter(app=broken).update(config={"BROKEN": 1})
    client.AppsV1Api(kube_api).patch_namespaced_deployment_scale(
        "web", drifted.namespace, {"spec": {"replicas": 5}}
    )

    report = resync(kube)

    assert broken.name in report.failed
    assert drifted.name in report.reconciled
    scale = client.AppsV1Api(kube_api).read_namespaced_deployment_scale("web", drifted.namespace)
    assert scale.spec.replicas == 2


def test_lists_come_in_pages_and_miss_nothing(make, kube, monkeypatch):
    apps = [make(), make(), make()]
    monkeypatch.setattr(adapter, "PAGE_SIZE", 2)

    found = [o["metadata"]["name"] for o in kube.list_owned("Namespace")]

    assert {a.namespace for a in apps} <= set(found)
    assert len(found) == len(set(found))  # no page repeats another's items
    # Pages of at most 2 (the API server may return fewer, as it filters by label after reading
    # a page): at least half as many requests as items.
    assert kube.requests[("list", "Namespace")] >= len(found) / 2


def test_a_hand_edited_secret_is_repaired_when_its_turn_comes(make, kube, kube_api, monkeypatch):
    app = make()
    client.CoreV1Api(kube_api).patch_namespaced_secret(
        "config", app.namespace, {"data": {"INJECTED": "eA=="}}
    )
    monkeypatch.setattr(cycle, "SECRET_AUDIT_PER_CYCLE", 10_000)  # every app's turn at once

    report = resync(kube)

    assert app.name in report.reconciled
    secret = client.CoreV1Api(kube_api).read_namespaced_secret("config", app.namespace)
    assert "INJECTED" not in (secret.data or {})


def test_an_apps_registry_secret_is_audited_with_its_config_and_left_alone_when_it_agrees(
    make, alice, kube, kube_api, monkeypatch
):
    app = make()
    registry_login_set(actor=alice, app=app, registry="ghcr.io", username="bot", password="t0ken")
    reconcile_app(app.pk, kube=kube)
    monkeypatch.setattr(cycle, "SECRET_AUDIT_PER_CYCLE", 10_000)  # every app's turn at once

    assert app.name not in resync(kube).reconciled  # both Secrets read, both as wanted

    client.CoreV1Api(kube_api).delete_namespaced_secret("registry-logins", app.namespace)
    assert app.name in resync(kube).reconciled
    assert client.CoreV1Api(kube_api).read_namespaced_secret("registry-logins", app.namespace)


def test_a_change_reconciled_while_the_resync_lists_is_not_taken_for_drift(
    make, alice, kube, monkeypatch
):
    """The resync lists the cluster, then reads the records: a change made and applied in
    between is newer than its listing, and must wait for the next cycle, not be "repaired"."""
    app = make()
    read_records = cycle.app_specs

    def change_then_read(*args: Any) -> Any:
        formation_update(actor=alice, app=app, changes=[ProcessChange("web", quantity=3)])
        reconcile_app(app.pk, kube=kube)
        return read_records(*args)

    monkeypatch.setattr(cycle, "app_specs", change_then_read)
    report = resync(kube)

    assert app.name not in report.reconciled
    assert not Activity.objects.filter(app=app, action="drift.repair").exists()


def test_a_cluster_object_not_ours_is_never_deleted_by_a_prune(make, kube, kube_api):
    """A Deployment someone else put in an app's namespace carries none of our labels: the
    prune, which works from our listing, leaves it."""
    app = make()
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "sidecar", "namespace": app.namespace},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"x": "y"}},
            "template": {
                "metadata": {"labels": {"x": "y"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    client.AppsV1Api(kube_api).create_namespaced_deployment(app.namespace, body)

    resync(kube)

    assert client.AppsV1Api(kube_api).read_namespaced_deployment("sidecar", app.namespace)


def test_an_installation_id_that_disagrees_with_the_database_is_refused(db, settings):
    installation()
    settings.INSTALLATION_ID = "another-one"

    with pytest.raises(ImproperlyConfigured, match="belongs to installation"):
        installation()


def test_the_kube_client_refuses_to_run_without_an_installation(kube_api):
    with pytest.raises(ValueError, match="needs the installation"):
        Cluster(kube_api, installation="")
