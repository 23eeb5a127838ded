"""The periodic resync: every app compared with the cluster from one paginated LIST per kind, and
only the apps that differ (drift made by hand) or that have operations left waiting (a lost task, a
killed worker, an emptied broker) reconciled. A converged cluster costs no write, and no database
write either.

It sees only this installation's objects, and deletes only on proof: the namespace of an app that
this installation destroyed (its tombstone). A namespace of its own whose app is in no record (an
older backup, an emptied database) is reported as an orphan, never deleted for that alone. A cycle
that would delete more than MAX_DELETIONS_PER_RESYNC objects deletes none and raises the alarm.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.kube.adapter import KINDS, Cluster, ClusterError
from apps.kube.manifests import (
    APP_LABEL,
    APP_UID_LABEL,
    ONE_OFF,
    AppSpec,
    Manifest,
    secret_names,
)
from apps.platform.controller.converge import plan
from apps.platform.controller.desired import app_specs
from apps.platform.controller.observe import record_deployments, settle_operations
from apps.platform.controller.reconcile import reconcile_app
from apps.platform.installation import installation
from apps.platform.models import (
    Activity,
    App,
    Dyno,
    Installation,
    Operation,
    Orphan,
    ProcessStatus,
    Tombstone,
)

log = logging.getLogger(__name__)
CONCURRENCY = 8
# Secrets are never listed across the cluster (the platform may not read Secrets outside its
# namespaces): each cycle reads this many apps' Secrets, in turn, so every app's is compared.
SECRET_AUDIT_PER_CYCLE = 25
LISTED = frozenset(kind for kind in KINDS if kind != "Secret")
# How long a finished one-off dyno's pod is kept, so `heroku logs --dyno run.N` still shows it.
ONE_OFF_KEPT = timedelta(minutes=5)


@dataclass
class ResyncReport:
    apps: int = 0
    reconciled: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # namespaces of destroyed apps
    orphans: list[str] = field(default_factory=list)
    held: int = 0  # deletions held back: more than the cap would have been made
    failed: list[str] = field(default_factory=list)  # apps whose reconcile raised
    ended: list[str] = field(default_factory=list)  # one-off dynos deleted once finished


@dataclass
class _Job:
    app_id: int
    live: list[Manifest]
    listed: frozenset[str]
    deletions: int


def _changing(since: int) -> set[int]:
    """Apps with an operation yet to be applied, or opened after `since` (an operation id): a
    reconcile may change their objects at any moment. (One rolling out was applied already.)"""
    waiting = (Operation.Status.QUEUED, Operation.Status.APPLYING)
    operations = Operation.objects.filter(Q(status__in=waiting) | Q(pk__gt=since))
    return set(operations.values_list("app_id", flat=True))


def resync(kube: Cluster) -> ResyncReport:
    # An app that a reconcile changes while the cluster is listed would look drifted against
    # the older listing: those are compared again next cycle (a lost task's still-waiting
    # operation is picked up below whatever).
    since = Operation.objects.aggregate(newest=Max("pk"))["newest"] or 0
    busy_while_listing = _changing(since)
    live_by_uid: dict[str, list[Manifest]] = defaultdict(list)
    # The kinds at once: most of a LIST's time is the API server's, and they are independent.
    with ThreadPoolExecutor(len(LISTED), thread_name_prefix="resync-list") as pool:
        listings = list(pool.map(kube.list_owned, sorted(LISTED)))
    for obj in (obj for listing in listings for obj in listing):
        live_by_uid[obj["metadata"].get("labels", {}).get(APP_UID_LABEL, "")].append(obj)
    # Read after listing: an app whose objects were listed has been committed by then.
    found = app_specs()
    apps = {app_id: app for app_id, (app, _) in found.items()}
    statuses: dict[int, list[ProcessStatus]] = defaultdict(list)
    for status in ProcessStatus.objects.all():
        statuses[status.app_id].append(status)
    active = list(
        Operation.objects.filter(status__in=Operation.ACTIVE).values_list("app_id", "status")
    )
    waiting = {app_id for app_id, status in active if status != Operation.Status.ROLLING_OUT}
    rolling_out = {app_id for app_id, status in active if status == Operation.Status.ROLLING_OUT}
    busy_while_listing |= _changing(since)
    report = ResyncReport(apps=len(found))
    audited = _audit_secrets(kube, [spec for _, spec in found.values()])
    jobs: list[_Job] = []
    for app_id, (app, spec) in found.items():
        live = live_by_uid.pop(spec.uid, [])
        try:
            deployments = [o for o in live if o["kind"] == "Deployment"]
            if record_deployments(app, deployments, stored=statuses[app_id]):
                rolling_out.add(app_id)
            listed = LISTED
            if spec.uid in audited:
                live, listed = [*live, *audited[spec.uid]], LISTED | {"Secret"}
            todo = plan(spec, live, app.digests, listed)
        except Exception:  # one app's surprise never costs the others their cycle
            log.exception("resync: comparing %s failed", app.name)
            report.failed.append(app.name)
            continue
        if app_id in waiting or todo:
            if app_id in waiting or app_id not in busy_while_listing:
                jobs.append(_Job(app_id, live, listed, len(todo.delete)))
        elif todo.digests != app.digests:
            # What runs is what is wanted, but the digests a change is compared with next are
            # missing (an adopted or seeded app): kept, once, unless a reconcile moved on.
            App.objects.filter(pk=app_id, digests=app.digests).update(digests=todo.digests)
    tombstones = {t.app_uid: t for t in Tombstone.objects.all()}
    doomed = [
        (uid, obj)
        for uid, objects in live_by_uid.items()
        if uid in tombstones
        for obj in objects
        if obj["kind"] == "Namespace" and not obj["metadata"].get("deletionTimestamp")
    ]
    planned = len(doomed) + sum(job.deletions for job in jobs)
    if planned > settings.MAX_DELETIONS_PER_RESYNC:
        report.held = planned
        jobs = [job for job in jobs if not job.deletions]
        doomed = []
    _raise_or_clear_alarm(report.held)
    for job, outcome in zip(jobs, _reconcile_many(kube, jobs), strict=True):
        if outcome is None:
            report.failed.append(apps[job.app_id].name)
        elif outcome:
            report.reconciled.append(apps[job.app_id].name)
            rolling_out.add(job.app_id)
    for app_id in rolling_out & apps.keys():
        settle_operations(apps[app_id], kube)
    for uid, namespace in doomed:
        try:
            if kube.delete_namespace(namespace["metadata"]["name"], uid):
                report.deleted.append(namespace["metadata"]["name"])
        except ClusterError as exc:
            log.warning("resync: %s", exc)
    # A tombstone is kept until its namespace is gone.
    gone = [t.pk for uid, t in tombstones.items() if uid not in live_by_uid]
    if gone:
        Tombstone.objects.filter(pk__in=gone).delete()
    report.orphans = _record_orphans(
        {uid: objects for uid, objects in live_by_uid.items() if uid not in tombstones}
    )
    report.ended = _delete_ended_one_offs(kube)
    return report


def _delete_ended_one_offs(kube: Cluster) -> list[str]:
    """Deletes the pods of one-off dynos that finished ONE_OFF_KEPT ago (their Secrets go with
    them): a finished pod holds its node's resources, counts toward the team's dynos, and
    would be followed by every log tail forever. Its output stays readable until then. Only
    the pod the watcher saw end is deleted (uid precondition)."""
    ended = Dyno.objects.filter(
        process_type=ONE_OFF, ended__lt=timezone.now() - ONE_OFF_KEPT
    ).select_related("app")
    deleted = []
    for dyno in ended:
        try:
            kube.delete("Pod", dyno.app.namespace, dyno.pod_name, uid=dyno.pod_uid)
        except ClusterError as exc:
            log.warning("resync: %s", exc)
            continue
        deleted.append(f"{dyno.app.name} {dyno.name}")
    return deleted


def _audit_secrets(kube: Cluster, specs: list[AppSpec]) -> dict[str, list[Manifest]]:
    """This cycle's turn of apps whose Secret is read and compared: a slice that moves on with
    every cycle, so each app's comes round within apps / SECRET_AUDIT_PER_CYCLE cycles."""
    if not specs:
        return {}
    specs = sorted(specs, key=lambda s: s.uid)
    cycle = int(time.time() // settings.RESYNC_SECONDS)
    start = cycle * SECRET_AUDIT_PER_CYCLE % len(specs)
    turn = (specs + specs)[start : start + min(SECRET_AUDIT_PER_CYCLE, len(specs))]
    audited: dict[str, list[Manifest]] = {}
    for spec in turn:
        try:
            found = [kube.read("Secret", spec.namespace, name) for name in secret_names(spec)]
        except ClusterError as exc:
            log.warning("resync: %s", exc)
            continue
        audited[spec.uid] = [s for s in found if s is not None and kube.owns(s, spec.uid)]
    return audited


def _raise_or_clear_alarm(held: int) -> None:
    """Written only when the alarm starts, changes or ends: a quiet cycle writes nothing."""
    current = installation()
    if current.deletions_held == held:
        return
    Installation.objects.filter(pk=current.pk).update(
        deletions_held=held, deletions_held_since=timezone.now() if held else None
    )
    if held and not current.deletions_held:
        log.error(
            "resync: %s deletions held back (over %s)", held, settings.MAX_DELETIONS_PER_RESYNC
        )
        Activity.objects.create(
            app_name="",
            action="resync.deletions_held",
            after={"deletions": held, "limit": settings.MAX_DELETIONS_PER_RESYNC},
        )


def _record_orphans(unknown: dict[str, list[Manifest]]) -> list[str]:
    """Namespaces of this installation whose app is in no record, kept as Orphan rows for site
    administrators; each new one is recorded in the activity once."""
    namespaces = {
        obj["metadata"]["name"]: (uid, obj["metadata"].get("labels", {}).get(APP_LABEL, ""))
        for uid, objects in unknown.items()
        for obj in objects
        if obj["kind"] == "Namespace" and not obj["metadata"].get("deletionTimestamp")
    }
    known = set(Orphan.objects.values_list("namespace", flat=True))
    if known - namespaces.keys():
        Orphan.objects.filter(namespace__in=known - namespaces.keys()).delete()
    for name in sorted(namespaces.keys() - known):
        uid, app_name = namespaces[name]
        with transaction.atomic():
            Orphan.objects.create(namespace=name, app_uid=uid, app_name=app_name)
            Activity.objects.create(
                app_name=app_name[:30],
                action="orphan.found",
                after={"namespace": name, "app_uid": uid},
            )
    return sorted(namespaces)


def _reconcile_many(kube: Cluster, jobs: list[_Job]) -> list[bool | None]:
    """Apps are independent, so several converge at once, each thread on its own database
    connection; inside a caller's transaction they stay on its connection, which alone sees
    its uncommitted records. None for an app whose reconcile raised: logged, and the others go
    on."""

    def run(job: _Job, *, own_connection: bool) -> bool | None:
        try:
            return reconcile_app(job.app_id, kube=kube, live=job.live, listed=job.listed)
        except ClusterError:
            return False  # its operations stay queued or failed; the next cycle looks again
        except Exception:
            log.exception("resync: reconciling app %s failed", job.app_id)
            return None
        finally:
            if own_connection:
                connection.close()

    if connection.in_atomic_block or len(jobs) < 2:
        return [run(job, own_connection=False) for job in jobs]
    with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="resync") as pool:
        futures = [pool.submit(run, job, own_connection=True) for job in jobs]
        return [future.result() for future in futures]
