"""The observed state, written back into the records: per process type rollout counts, dynos,
and the outcome of operations waiting for their rollout.

Called by the watcher on every event and by the periodic resync, so a lost event is repaired.
Writes happen only when something changed: a quiet cluster causes no database writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django.db.models import Q
from django.utils import timezone

from apps.kube.adapter import Cluster, ClusterError
from apps.kube.manifests import NUMBER_LABEL, PROCESS_LABEL
from apps.kube.status import dyno_state, rollout
from apps.platform.models import App, Dyno, Operation, ProcessStatus
from apps.platform.validators import ascii_int

ROLLOUT_FIELDS = (
    "generation",
    "observed_generation",
    "desired",
    "current",
    "updated",
    "ready",
    "available",
    "state",
    "message",
)


def record_deployments(
    app: App, deployments: Iterable[dict[str, Any]], *, stored: list[ProcessStatus] | None = None
) -> bool:
    """Stores the rollout of each of the app's Deployments; forgets the ones that are gone.
    Returns whether anything changed. `stored` saves the read when the caller has them all."""
    seen = {d["metadata"]["labels"].get(PROCESS_LABEL, ""): rollout(d) for d in deployments}
    stored_by_name = {s.name: s for s in (app.process_statuses.all() if stored is None else stored)}
    changed = False
    for name, observed in seen.items():
        values = {f: getattr(observed, f) for f in ROLLOUT_FIELDS}
        status = stored_by_name.get(name)
        if status is None:
            ProcessStatus.objects.create(app=app, name=name, **values)
            changed = True
        elif any(getattr(status, f) != v for f, v in values.items()):
            ProcessStatus.objects.filter(pk=status.pk).update(changed=timezone.now(), **values)
            changed = True
    gone = [s.pk for name, s in stored_by_name.items() if name not in seen]
    if gone:
        ProcessStatus.objects.filter(pk__in=gone).delete()
        changed = True
    return changed


def record_deployment(app: App, deployment: dict[str, Any], *, deleted: bool = False) -> None:
    """One watch event: the same as record_deployments, for a single process type."""
    name = deployment["metadata"]["labels"].get(PROCESS_LABEL, "")
    if deleted:
        ProcessStatus.objects.filter(app=app, name=name).delete()
        return
    observed = rollout(deployment)
    values = {f: getattr(observed, f) for f in ROLLOUT_FIELDS}
    ProcessStatus.objects.update_or_create(app=app, name=name, defaults=values)


def record_pod(app: App, pod: dict[str, Any]) -> bool:
    """Creates or updates the pod's dyno; a new dyno takes the lowest number of its type that no
    running dyno of its rollout holds, so names run web.1, web.2, ... and stay the same for the
    pod's life. As on Heroku, a replacement takes the name of the dyno it replaces: web.2
    restarted is web.2 again, and a rolling update starts its dynos at web.1 while the old
    web.1 still runs, so for a moment both hold the name. Returns whether the dyno is failing.
    Only the watcher writes dynos, from one thread, so no lock is taken."""
    meta = pod["metadata"]
    observed = dyno_state(pod)
    values = {
        "process_type": observed.process_type,
        "pod_name": meta["name"],
        "release": observed.release,
        "state": observed.state,
        "ready": observed.ready,
        "restarts": observed.restarts,
        "reason": observed.reason,
        "message": observed.message[:2000],
        "created": observed.created,
        "template": observed.template,
        "ended": observed.ended,
    }
    dyno = Dyno.objects.filter(pod_uid=meta["uid"]).first()
    if dyno is not None:
        if any(getattr(dyno, f) != v for f, v in values.items()):
            Dyno.objects.filter(pk=dyno.pk).update(changed=timezone.now(), **values)
        return bool(observed.reason)
    # A dyno recorded before templates were (blank) counts as taken until an event fills it in.
    taken = set(
        Dyno.objects.filter(app=app, process_type=observed.process_type)
        .filter(Q(template=observed.template) | Q(template=""))
        .exclude(state=Dyno.State.STOPPING)
        .values_list("number", flat=True)
    )
    # A one-off dyno carries its number (run.1234), chosen when it was asked for.
    given = meta.get("labels", {}).get(NUMBER_LABEL, "")
    number = ascii_int(given) or next(n for n in range(1, len(taken) + 2) if n not in taken)
    Dyno.objects.create(app=app, pod_uid=meta["uid"], number=number, **values)
    return bool(observed.reason)


def record_pods(app: App, pods: list[dict[str, Any]]) -> None:
    """A whole list of the app's pods: the stopping ones first, so that the numbers they give
    up are free for the pods replacing them."""
    for pod in sorted(pods, key=lambda p: not p["metadata"].get("deletionTimestamp")):
        record_pod(app, pod)


def forget_pods(app: App, keep_uids: Iterable[str] | None = None, *, uid: str = "") -> None:
    """Drops the dyno of a deleted pod (uid), or every dyno whose pod is not in keep_uids."""
    dynos = Dyno.objects.filter(app=app)
    if uid:
        dynos.filter(pod_uid=uid).delete()
    elif keep_uids is not None:
        dynos.exclude(pod_uid__in=list(keep_uids)).delete()


def _failure(
    operation: Operation,
    statuses: dict[str, ProcessStatus],
    failing: list[Dyno],
    probe: Callable[[str], str],
) -> str:
    for name in operation.generations:
        status = statuses.get(name)
        if status is not None and status.state == ProcessStatus.State.FAILED:
            # A rollout that never became ready: the kubelet's probe report says why.
            unready = Dyno.objects.filter(
                app_id=operation.app_id, process_type=name, ready=False, reason=""
            )
            reports = ((d, probe(d.pod_name)) for d in unready.order_by("number"))
            found = next(((d, r) for d, r in reports if r), None)
            why = f" {found[0].name} failed its health check: {found[1]}" if found else ""
            return f"{name}: {status.message}{why}"
    release = operation.release.version if operation.release else None
    for dyno in failing:
        if dyno.process_type in operation.generations and release in (None, dyno.release):
            return f"{dyno.name}: {dyno.reason}. {dyno.message}".strip()
    return ""


def _probe(kube: Cluster | None, namespace: str, pod: str) -> str:
    if kube is None:
        return ""
    try:
        return kube.probe_failure(namespace, pod)
    except ClusterError:
        return ""  # the reason without it is still true


def settle_operations(app: App, kube: Cluster | None = None) -> None:
    """Ends each operation that was waiting for its rollout: succeeded once every Deployment it
    changed has rolled out that generation, failed with the reason once one cannot (with the
    cluster at hand, the kubelet's report of a failing health check among it)."""
    waiting = list(
        app.operations.filter(status=Operation.Status.ROLLING_OUT).select_related("release")
    )
    if not waiting:
        return
    statuses = {s.name: s for s in app.process_statuses.all()}
    failing = list(app.dynos.exclude(reason="").order_by("process_type", "number"))
    for operation in waiting:
        failure = _failure(operation, statuses, failing, partial(_probe, kube, app.namespace))
        done = all(
            (s := statuses.get(name)) is not None
            and s.generation >= generation
            and s.observed_generation >= generation
            and s.state == ProcessStatus.State.COMPLETE
            for name, generation in operation.generations.items()
        )
        if failure or done:
            status = Operation.Status.FAILED if failure else Operation.Status.SUCCEEDED
            # Compare-and-swap: the watcher and the resync may both settle the same operation.
            Operation.objects.filter(pk=operation.pk, status=Operation.Status.ROLLING_OUT).update(
                status=status, error=failure, finished=timezone.now(), updated=timezone.now()
            )


def observe(
    app: App,
    *,
    deployments: list[dict[str, Any]] | None = None,
    pods: list[dict[str, Any]] | None = None,
    kube: Cluster | None = None,
) -> None:
    """Records what was listed of one app (its Deployments, its pods, or both: the watcher lists
    one kind at a time), then settles its operations."""
    if deployments is not None:
        record_deployments(app, deployments)
    if pods is not None:
        forget_pods(app, [pod["metadata"]["uid"] for pod in pods])
        record_pods(app, pods)
    settle_operations(app, kube)


def observe_app(app: App, kube: Cluster) -> None:
    """Observes one app from the cluster, as the watcher does for all of them."""
    observe(
        app,
        deployments=kube.list_owned("Deployment", namespace=app.namespace),
        pods=kube.list_owned("Pod", namespace=app.namespace),
        kube=kube,
    )
