"""The periodic resync: every app compared with the cluster from one LIST per kind, and only
the apps that differ (drift made by hand) or that have operations left waiting (a lost task, a
killed worker, an emptied broker) reconciled. Objects of apps that no longer exist are deleted.
A converged cluster costs no write, and no database write either."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from apps.kube.adapter import KINDS, Cluster, TemporaryError
from apps.kube.diff import differences, key
from apps.kube.manifests import APP_UID_LABEL, AppSpec, desired_objects
from apps.platform.models import Operation, ProcessStatus
from apps.platform.observed import record_deployments, settle_operations
from apps.platform.reconcile import reconcile_app
from apps.platform.selectors import app_specs

Manifest = dict[str, Any]
CONCURRENCY = 8


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
    found = app_specs()
    apps = {app_id: app for app_id, (app, _) in found.items()}
    specs = {app_id: spec for app_id, (_, spec) in found.items()}
    statuses: dict[int, list[ProcessStatus]] = defaultdict(list)
    for status in ProcessStatus.objects.all():
        statuses[status.app_id].append(status)
    active = list(
        Operation.objects.filter(status__in=Operation.ACTIVE).values_list("app_id", "status")
    )
    waiting = {app_id for app_id, status in active if status != Operation.Status.ROLLING_OUT}
    rolling_out = {app_id for app_id, status in active if status == Operation.Status.ROLLING_OUT}
    report = ResyncReport(apps=len(specs))
    to_reconcile: list[tuple[int, list[Manifest]]] = []
    for app_id, spec in specs.items():
        live = live_by_uid.pop(spec.uid, [])
        deployments = [o for o in live if o["kind"] == "Deployment"]
        if record_deployments(apps[app_id], deployments, stored=statuses[app_id]):
            rolling_out.add(app_id)
        if app_id in waiting or differs(spec, live):
            to_reconcile.append((app_id, live))
    for (app_id, _), reconciled in zip(to_reconcile, _reconcile_many(kube, to_reconcile),
                                       strict=True):  # fmt: skip
        if reconciled:
            report.reconciled.append(apps[app_id].name)
            rolling_out.add(app_id)
    for app_id in rolling_out & apps.keys():
        settle_operations(apps[app_id])
    for objects in live_by_uid.values():
        for namespace in objects:
            if namespace["kind"] != "Namespace" or namespace["metadata"].get("deletionTimestamp"):
                continue
            kube.delete("Namespace", None, namespace["metadata"]["name"])
            report.orphans_deleted.append(namespace["metadata"]["name"])
    return report


def _reconcile_many(kube: Cluster, jobs: list[tuple[int, list[Manifest]]]) -> list[bool]:
    """Apps are independent, so several converge at once, each thread on its own database
    connection; inside a caller's transaction they stay on its connection, which alone sees
    its uncommitted records."""

    def run(app_id: int, live: list[Manifest], *, own_connection: bool) -> bool:
        try:
            return reconcile_app(app_id, kube=kube, live=live)
        except TemporaryError:
            return False  # its operations stay queued; the next cycle tries again
        finally:
            if own_connection:
                connection.close()

    if connection.in_atomic_block or len(jobs) < 2:
        return [run(app_id, live, own_connection=False) for app_id, live in jobs]
    with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="resync") as pool:
        futures = [pool.submit(run, app_id, live, own_connection=True) for app_id, live in jobs]
        return [future.result() for future in futures]


def differs(spec: AppSpec, live: list[Manifest]) -> bool:
    desired = desired_objects(spec)
    live_by_key = {key(o): o for o in live}
    if live_by_key.keys() != {key(m) for m in desired}:
        return True
    return any(differences(m, live_by_key[key(m)]) for m in desired)
