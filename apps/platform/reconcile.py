"""The reconciler: make the cluster hold what the records say, level-triggered and idempotent.

Each run builds the manifests from the records and applies only those that differ, from what it
last applied or, in the resync, from the live objects; a second run with nothing changed sends
no write at all. It acts on the app, not on one change: every operation waiting when it starts
is carried by the same run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import connection
from django.utils import timezone

from apps.kube.adapter import FIELD_MANAGER, Cluster, PermanentError, TemporaryError
from apps.kube.diff import differences, key
from apps.kube.manifests import (
    ONE_OFF,
    PROCESS_LABEL,
    AppSpec,
    Manifest,
    ProcessSpec,
    RunSpec,
    desired_objects,
    one_off_pod,
)
from apps.platform.locks import APP_LOCK_SPACE, app_unlock
from apps.platform.models import Activity, App, DynoSize, Operation, Tombstone
from apps.platform.selectors import SPEC_COLUMNS, spec_from_row

HANDOVER_MANAGER = "paas-handover"


@dataclass
class Changes:
    applied: dict[str, list[str]] = field(default_factory=dict)  # object -> differing paths
    deleted: list[str] = field(default_factory=list)
    generations: dict[str, int] = field(default_factory=dict)  # process type -> generation
    digests: dict[str, str] = field(default_factory=dict)  # object id -> digest, all desired

    def __bool__(self) -> bool:
        return bool(self.applied or self.deleted)


def _name(obj: Manifest) -> str:
    kind, _, name = key(obj)
    return f"{kind}/{name}"


def _owns_replicas(live: Manifest) -> bool:
    for entry in live["metadata"].get("managedFields", []):
        fields = entry.get("fieldsV1", {}).get("f:spec", {})
        if entry.get("manager") == FIELD_MANAGER and "f:replicas" in fields:
            return True
    return False


def _hand_over_replicas(kube: Cluster, manifest: Manifest, live: Manifest | None) -> None:
    """Before the HPA takes over, another manager keeps the current count: if our apply just
    dropped the field, the API server would reset it to 1 and the HPA would start from there."""
    meta = manifest["metadata"]
    if live is None:
        found = kube.list_owned(
            "Deployment",
            namespace=meta["namespace"],
            selector=f"{PROCESS_LABEL}={meta['labels'][PROCESS_LABEL]}",
        )
        live = next((d for d in found if d["metadata"]["name"] == meta["name"]), None)
    if live is None or not _owns_replicas(live):
        return
    kube.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "spec": {"replicas": live["spec"].get("replicas", 1)},
        },
        manager=HANDOVER_MANAGER,
    )


def _object_id(obj: Manifest) -> str:
    kind, namespace, name = key(obj)
    return f"{kind}/{namespace}/{name}"


def _digest(manifest: Manifest) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:20]


@dataclass
class Plan:
    """What one app's converge would do: each object to apply with why, each to delete."""

    apply: list[tuple[Manifest, Manifest | None, list[str]]] = field(default_factory=list)
    delete: list[tuple[str, str, str]] = field(default_factory=list)  # kind, namespace, name
    digests: dict[str, str] = field(default_factory=dict)  # object id -> digest, all desired

    def __bool__(self) -> bool:
        return bool(self.apply or self.delete)


def plan(
    spec: AppSpec,
    live: list[Manifest] | None,
    applied: dict[str, str],
    listed: frozenset[str] = frozenset(),
) -> Plan:
    """Compares the desired objects with the cluster, a pure function.

    With the live objects (the resync lists every kind in `listed`) each object of those kinds is
    compared with the cluster, which is what finds drift. Otherwise it is compared with what this
    app last applied, from its digest: a change reaches the cluster with one write and no read,
    and an unchanged app costs no request at all."""
    result = Plan()
    live_by_key = {} if live is None else {key(obj): obj for obj in live}
    desired = desired_objects(spec)
    for manifest in desired:
        object_id = _object_id(manifest)
        current = live_by_key.get(key(manifest))
        if live is None or manifest["kind"] not in listed:
            digest = _digest(manifest)
            paths = [] if applied.get(object_id) == digest else ["(changed)"]
        else:
            paths = ["(missing)"] if current is None else differences(manifest, current)
            # What runs is what is wanted: the digest kept with it stands (the resync compares
            # thousands of objects, and hashing each would cost more than comparing it).
            digest = applied[object_id] if not paths and object_id in applied else _digest(manifest)
        result.digests[object_id] = digest
        if paths:
            result.apply.append((manifest, current, paths))
    wanted = {_object_id(m) for m in desired}
    # Only what this app applied before or what carries its labels: proof that it is ours.
    for object_id in applied:
        kind, namespace, name = object_id.split("/", 2)
        if object_id not in wanted and (live is None or kind not in listed):
            result.delete.append((kind, namespace, name))
    for obj in live_by_key.values():
        if _object_id(obj) not in wanted:
            result.delete.append(key(obj))
    return result


def converge(
    kube: Cluster,
    spec: AppSpec,
    live: list[Manifest] | None,
    applied: dict[str, str],
    listed: frozenset[str] = frozenset(),
) -> Changes:
    """Applies each desired object that differs, deletes owned objects no longer wanted, and
    returns what it changed (see `plan`)."""
    changes = Changes()
    todo = plan(spec, live, applied, listed)
    changes.digests = todo.digests
    for manifest, current, paths in todo.apply:
        if manifest["kind"] == "Namespace" and current is None:
            kube.claim_namespace(spec.namespace, spec.uid)
        if manifest["kind"] == "Deployment" and "replicas" not in manifest["spec"]:
            _hand_over_replicas(kube, manifest, current)
        if manifest["kind"] == "Secret" and current is not None:
            # Keys added by hand belong to another manager, which an apply would leave.
            result = kube.replace(manifest, current["metadata"]["resourceVersion"])
        else:
            result = kube.apply(manifest)
        changes.applied[_name(manifest)] = paths
        if manifest["kind"] == "Deployment":
            process = manifest["metadata"]["labels"][PROCESS_LABEL]
            changes.generations[process] = result["metadata"]["generation"]
    for kind, namespace, name in todo.delete:
        kube.delete(kind, namespace or None, name)
        changes.deleted.append(f"{kind}/{name}")
    return changes


def _superseded(waiting: list[Claimed]) -> list[int]:
    """A run applies the records as they stand, so of the changes of state it carries, the newest
    stands for them all and the older ones end superseded: they never queue behind each other.
    A dyno restart or a one-off dyno is an action, not a state: each is carried out."""
    states = sorted(c.id for c in waiting if not c.pods and not c.run)
    return states[:-1]


def _finish(ids: list[int], status: str, error: str = "") -> None:
    Operation.objects.filter(pk__in=ids).update(
        status=status, error=error, finished=timezone.now(), updated=timezone.now()
    )


# Takes the app's lock and, only if it got it, claims the waiting operations (marks them
# applying) and reads the app's desired state, in one statement: all three sit on the path of
# every change to the cluster. One statement is one snapshot, so every operation claimed was
# committed with the records read alongside it.
_LOCK_CLAIM_AND_READ = f"""
WITH lock AS MATERIALIZED (SELECT pg_try_advisory_lock(%(space)s, %(app)s) AS held),
claimed AS (
    UPDATE {Operation._meta.db_table} SET status = %(applying)s, error = '', updated = now()
    WHERE app_id = %(app)s AND status IN (%(queued)s, %(applying)s) AND (SELECT held FROM lock)
    RETURNING id, pods, run
)
SELECT (SELECT held FROM lock),
       (SELECT coalesce(json_agg(json_build_array(id, pods, run)), '[]'::json) FROM claimed),
       (SELECT json_build_array({SPEC_COLUMNS}) FROM {App._meta.db_table} a
        WHERE a.id = %(app)s AND (SELECT held FROM lock))
"""


class Claimed(NamedTuple):
    id: int
    pods: list[str]
    run: dict[str, Any]


class Claim(NamedTuple):
    operations: list[Claimed]
    found: tuple[App, AppSpec] | None  # None when the app was destroyed meanwhile


def _run_spec(run: dict[str, Any]) -> RunSpec:
    size = DynoSize.objects.filter(name=run["size"]).first() or DynoSize.objects.first()
    assert size is not None
    command = f"sleep {run.get('ttl', 3600)}" if run.get("attach") else run["command"]
    process = ProcessSpec(
        name=ONE_OFF,
        command=command,
        quantity=1,
        cpu_request_millicores=size.cpu_request_millicores,
        cpu_limit_millicores=size.cpu_limit_millicores,
        memory_request_mib=size.memory_request_mib,
        memory_limit_mib=size.memory_limit_mib,
    )
    return RunSpec(
        name=run["name"],
        number=run["number"],
        command=run["command"],
        process=process,
        env=tuple(sorted(run.get("env", {}).items())),
        ttl=run.get("ttl", 3600),
    )


@contextmanager
def _claimed(app_id: int) -> Iterator[Claim | None]:
    """Yields the operations this run carries, with the records as they stood when they were
    claimed, or None when another run holds the app. Under the lock an operation still applying
    was left by a run that died: it is taken over, not left stuck."""
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCK_CLAIM_AND_READ,
            {
                "space": APP_LOCK_SPACE,
                "app": app_id,
                "queued": Operation.Status.QUEUED,
                "applying": Operation.Status.APPLYING,
            },
        )
        held, claimed, spec_row = cursor.fetchone()
    if not held:
        yield None
        return
    try:
        yield Claim(
            [Claimed(pk, pods, run) for pk, pods, run in claimed],
            spec_from_row(spec_row) if spec_row else None,
        )
    finally:
        app_unlock(app_id)


def _reconcile_once(
    kube: Cluster, live: list[Manifest] | None, listed: frozenset[str], claim: Claim
) -> None:
    if claim.found is None:
        return  # destroyed meanwhile: its operations went with it
    app, spec = claim.found
    waiting = claim.operations
    superseded = _superseded(waiting)
    claimed = [c.id for c in waiting if c.id not in superseded]
    pods = [pod for c in waiting for pod in c.pods]
    try:
        changes = converge(kube, spec, live, app.applied, listed)
        for pod in pods:
            kube.delete("Pod", app.namespace, pod)
        for run in (c.run for c in waiting if c.run):
            kube.apply(one_off_pod(spec, _run_spec(run)))
    except TemporaryError as exc:
        Operation.objects.filter(pk__in=claimed).update(
            status=Operation.Status.QUEUED,
            error=f"Waiting for the cluster: {exc}",
            updated=timezone.now(),
        )
        raise
    except PermanentError as exc:
        _finish(claimed, Operation.Status.FAILED, f"The cluster refused the change: {exc}")
        return
    finally:  # whatever the outcome: the newest change carries theirs
        _finish(superseded, Operation.Status.SUPERSEDED)
    if changes and not claimed:
        # Nothing asked for this change: someone edited, scaled or deleted an object by hand.
        Activity.objects.create(
            app=app,
            app_name=app.name,
            action="drift.repair",
            before={"changed": changes.applied, "deleted": changes.deleted},
            after={"release": spec.release},
        )
    if changes.digests != app.applied:
        App.objects.filter(pk=app.pk).update(applied=changes.digests)
    if changes.generations:
        # The watcher ends them as the rollout completes or fails.
        Operation.objects.filter(pk__in=claimed).update(
            status=Operation.Status.ROLLING_OUT,
            applied=changes.generations,
            updated=timezone.now(),
        )
    else:
        _finish(claimed, Operation.Status.SUCCEEDED)


def reconcile_app(
    app_id: int,
    *,
    kube: Cluster,
    live: list[Manifest] | None = None,
    listed: frozenset[str] = frozenset(),
) -> bool:
    """Converges one app. Returns False when another run holds the app: that run re-checks for
    waiting operations after it lets go, so nothing accepted meanwhile is left behind."""
    while True:
        with _claimed(app_id) as claim:
            if claim is None:
                return False
            _reconcile_once(kube, live, listed, claim)
        live = None
        if not Operation.objects.filter(app_id=app_id, status=Operation.Status.QUEUED).exists():
            return True


def teardown(kube: Cluster, uid: str) -> None:
    """Deletes what a destroyed app left, on proof only: its tombstone names the namespace, and
    the namespace's labels name this installation and that app."""
    tombstone = Tombstone.objects.filter(app_uid=uid).first()
    if tombstone is not None:
        kube.delete_namespace(tombstone.namespace, uid)
