"""The reconciler: make the cluster hold what the records say, level-triggered and idempotent.

Each run compares the manifests built from the records with the objects the cluster holds and
applies only what differs, so a second run with nothing changed sends no write at all. It acts
on the app, not on one change: every operation waiting when it starts is carried by the same run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from apps.kube.adapter import KINDS, Cluster, PermanentError, TemporaryError
from apps.kube.diff import differences, key
from apps.kube.manifests import APP_LABEL, APP_UID_LABEL, PROCESS_LABEL, AppSpec, desired_objects
from apps.platform.locks import app_lock
from apps.platform.models import Activity, App, Operation
from apps.platform.observed import record_deployments, settle_operations
from apps.platform.selectors import app_specs

Manifest = dict[str, Any]
HANDOVER_MANAGER = "paas-handover"


@dataclass
class Changes:
    applied: dict[str, list[str]] = field(default_factory=dict)  # object -> differing paths
    deleted: list[str] = field(default_factory=list)
    generations: dict[str, int] = field(default_factory=dict)  # process type -> generation
    deployments: list[Manifest] = field(default_factory=list)  # as they stand afterwards

    def __bool__(self) -> bool:
        return bool(self.applied or self.deleted)


def _name(obj: Manifest) -> str:
    kind, _, name = key(obj)
    return f"{kind}/{name}"


def _owns_replicas(live: Manifest) -> bool:
    for entry in live["metadata"].get("managedFields", []):
        fields = entry.get("fieldsV1", {}).get("f:spec", {})
        if entry.get("manager") == "paas" and "f:replicas" in fields:
            return True
    return False


def _hand_over_replicas(kube: Cluster, live: Manifest) -> None:
    """Before the HPA takes over, another manager keeps the current count: if our apply just
    dropped the field, the API server would reset it to 1 and the HPA would start from there."""
    meta = live["metadata"]
    kube.apply(
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
         "spec": {"replicas": live["spec"].get("replicas", 1)}},
        manager=HANDOVER_MANAGER,
    )  # fmt: skip


def converge(kube: Cluster, spec: AppSpec, live: list[Manifest]) -> Changes:
    """Applies each desired object that differs from its live copy, deletes owned objects that
    are no longer wanted, and returns what it changed."""
    changes = Changes()
    live_by_key = {key(obj): obj for obj in live}
    desired = desired_objects(spec)
    for manifest in desired:
        current = live_by_key.get(key(manifest))
        paths = ["(missing)"] if current is None else differences(manifest, current)
        if not paths:
            assert current is not None
            if manifest["kind"] == "Deployment":
                changes.deployments.append(current)
            continue
        if (
            current is not None
            and manifest["kind"] == "Deployment"
            and "replicas" not in manifest["spec"]
            and _owns_replicas(current)
        ):
            _hand_over_replicas(kube, current)
        result = kube.apply(manifest)
        changes.applied[_name(manifest)] = paths
        if manifest["kind"] == "Deployment":
            process = manifest["metadata"]["labels"][PROCESS_LABEL]
            changes.generations[process] = result["metadata"]["generation"]
            changes.deployments.append(result)
    wanted = {key(m) for m in desired}
    for obj_key, obj in live_by_key.items():
        if obj_key not in wanted:
            kind, namespace, name = obj_key
            kube.delete(kind, namespace or None, name)
            changes.deleted.append(_name(obj))
    return changes


def list_app_objects(kube: Cluster, app: App) -> list[Manifest]:
    """The app's owned objects: one LIST per kind, in its namespace."""
    selector = f"{APP_LABEL}={app.name}"
    found: list[Manifest] = []
    for kind in KINDS:
        namespace = None if kind == "Namespace" else app.namespace
        found += kube.list_owned(kind, namespace=namespace, selector=selector)
    return found


def _finish(ids: list[int], status: str, error: str = "") -> None:
    Operation.objects.filter(pk__in=ids).update(
        status=status, error=error, finished=timezone.now(), updated=timezone.now()
    )


def _reconcile_once(app_id: int, kube: Cluster, live: list[Manifest] | None) -> None:
    app = App.objects.filter(pk=app_id).first()
    if app is None:
        return
    # Under the app's lock an operation still marked applying was left by a run that died:
    # it is taken over, not left stuck.
    claimed = list(
        app.operations.filter(
            status__in=[Operation.Status.QUEUED, Operation.Status.APPLYING]
        ).values_list("pk", flat=True)
    )
    Operation.objects.filter(pk__in=claimed).update(
        status=Operation.Status.APPLYING, error="", updated=timezone.now()
    )
    spec = app_specs([app_id])[app_id]
    try:
        if live is None:
            live = list_app_objects(kube, app)
        changes = converge(kube, spec, live)
        for operation in app.operations.filter(pk__in=claimed).exclude(pods=[]):
            for pod in operation.pods:
                kube.delete("Pod", app.namespace, pod)
    except TemporaryError as exc:
        Operation.objects.filter(pk__in=claimed).update(
            status=Operation.Status.QUEUED, error=f"Waiting for the cluster: {exc}",
            updated=timezone.now(),
        )  # fmt: skip
        raise
    except PermanentError as exc:
        _finish(claimed, Operation.Status.FAILED, f"The cluster refused the change: {exc}")
        return
    if changes and not claimed:
        # Nothing asked for this change: someone edited, scaled or deleted an object by hand.
        Activity.objects.create(
            app=app, app_name=app.name, action="drift.repair",
            before={"changed": changes.applied, "deleted": changes.deleted},
            after={"release": spec.release},
        )  # fmt: skip
    record_deployments(app, changes.deployments)
    if changes.generations:
        Operation.objects.filter(pk__in=claimed).update(
            status=Operation.Status.ROLLING_OUT, applied=changes.generations,
            updated=timezone.now(),
        )  # fmt: skip
        settle_operations(app)
    else:
        _finish(claimed, Operation.Status.SUCCEEDED)


def reconcile_app(app_id: int, *, kube: Cluster, live: list[Manifest] | None = None) -> bool:
    """Converges one app. Returns False when another run holds the app: that run re-checks for
    waiting operations after it lets go, so nothing accepted meanwhile is left behind."""
    while True:
        with app_lock(app_id) as held:
            if not held:
                return False
            _reconcile_once(app_id, kube, live)
        live = None
        if not Operation.objects.filter(app_id=app_id, status=Operation.Status.QUEUED).exists():
            return True


@dataclass
class ResyncReport:
    apps: int = 0
    reconciled: list[str] = field(default_factory=list)
    orphans_deleted: list[str] = field(default_factory=list)


def resync(kube: Cluster) -> ResyncReport:
    """Compares every app with the cluster from one LIST per kind, and reconciles only the apps
    that differ or have operations waiting. Objects of apps that no longer exist are deleted."""
    live_by_uid: dict[str, list[Manifest]] = defaultdict(list)
    for kind in KINDS:
        for obj in kube.list_owned(kind):
            live_by_uid[obj["metadata"].get("labels", {}).get(APP_UID_LABEL, "")].append(obj)
    # Read after listing: an app whose objects were listed has been committed by then.
    specs = app_specs()
    apps = App.objects.in_bulk(list(specs))
    waiting = set(
        Operation.objects.filter(status__in=Operation.ACTIVE).values_list("app_id", flat=True)
    )
    report = ResyncReport(apps=len(specs))
    for app_id, spec in specs.items():
        app = apps[app_id]
        live = live_by_uid.pop(spec.uid, [])
        record_deployments(app, [o for o in live if o["kind"] == "Deployment"])
        if app_id in waiting or differs(spec, live):
            try:
                reconcile_app(app_id, kube=kube, live=live)
            except TemporaryError:
                continue  # its operations stay queued; the next cycle tries again
            report.reconciled.append(app.name)
        settle_operations(app)
    for objects in live_by_uid.values():
        for namespace in objects:
            if namespace["kind"] != "Namespace" or namespace["metadata"].get("deletionTimestamp"):
                continue
            kube.delete("Namespace", None, namespace["metadata"]["name"])
            report.orphans_deleted.append(namespace["metadata"]["name"])
    return report


def differs(spec: AppSpec, live: list[Manifest]) -> bool:
    desired = desired_objects(spec)
    live_by_key = {key(o): o for o in live}
    if live_by_key.keys() != {key(m) for m in desired}:
        return True
    return any(differences(m, live_by_key[key(m)]) for m in desired)


def teardown(kube: Cluster, uid: str) -> None:
    """Deletes what a destroyed app left: its namespace, found by the app's uid so a new app
    with the same name is never touched."""
    for namespace in kube.list_owned("Namespace", selector=f"{APP_UID_LABEL}={uid}"):
        kube.delete("Namespace", None, namespace["metadata"]["name"])
