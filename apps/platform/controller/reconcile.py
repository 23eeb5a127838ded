"""The reconciler: make the cluster hold what the records say, level-triggered and idempotent.

Each run claims the app's waiting operations (claim.py), builds the manifests from the records and
applies only those that differ (converge.py), from what it last applied or, in the resync, from
the live objects; a second run with nothing changed sends no write at all. It acts on the app, not
on one change: every operation waiting when it starts is carried by the same run.
"""

from __future__ import annotations

from django.utils import timezone

from apps.kube.adapter import Cluster, PermanentError, TemporaryError
from apps.kube.manifests import AppSpec, Manifest, one_off_pod, one_off_secret
from apps.platform.controller.claim import (
    Claim,
    Claimed,
    claimed,
    finish,
    run_spec,
    superseded,
)
from apps.platform.controller.converge import converge
from apps.platform.models import Activity, App, Operation, Tombstone


def _start_one_off(kube: Cluster, app: App, spec: AppSpec, claimed_run: Claimed) -> None:
    """Its variables in a Secret first (the pod waits for nothing that is not there), then the
    pod, then the Secret owned by the pod; the operation then keeps their names only, so no
    value given to `heroku run` stays in the database."""
    run = run_spec(claimed_run.run, app)
    if run.env:
        kube.apply(one_off_secret(spec, run))
    pod = kube.apply(one_off_pod(spec, run))
    if run.env:
        kube.apply(one_off_secret(spec, run, pod_uid=pod["metadata"]["uid"]))
        kept = {k: v for k, v in claimed_run.run.items() if k != "env"}
        Operation.objects.filter(pk=claimed_run.id).update(
            run=kept | {"env_keys": sorted(claimed_run.run["env"])}
        )


def _reconcile_once(
    kube: Cluster, live: list[Manifest] | None, listed: frozenset[str], claim: Claim
) -> None:
    if claim.found is None:
        return  # destroyed meanwhile: its operations went with it
    app, spec = claim.found
    waiting = claim.operations
    ended = superseded(waiting)
    carried = [c.id for c in waiting if c.id not in ended]
    pods = [pod for c in waiting for pod in c.pods]
    if spec.unreadable:
        finish(carried, Operation.Status.FAILED, spec.unreadable)
        finish(ended, Operation.Status.SUPERSEDED)
        return
    try:
        changes = converge(kube, spec, live, app.digests, listed)
        for pod in pods:
            kube.delete("Pod", app.namespace, pod)
        for claimed_run in (c for c in waiting if c.run):
            _start_one_off(kube, app, spec, claimed_run)
    except TemporaryError as exc:
        Operation.objects.filter(pk__in=carried).update(
            status=Operation.Status.QUEUED,
            error=f"Waiting for the cluster: {exc}",
            updated=timezone.now(),
        )
        raise
    except PermanentError as exc:
        finish(carried, Operation.Status.FAILED, f"The cluster refused the change: {exc}")
        return
    finally:  # whatever the outcome: the newest change carries theirs
        finish(ended, Operation.Status.SUPERSEDED)
    if changes and not carried:
        # Nothing asked for this change: someone edited, scaled or deleted an object by hand.
        Activity.objects.create(
            app=app,
            app_name=app.name,
            action="drift.repair",
            before={"changed": changes.changed, "deleted": changes.deleted},
            after={"release": spec.release},
        )
    if changes.digests != app.digests:
        App.objects.filter(pk=app.pk).update(digests=changes.digests)
    if changes.generations:
        # The watcher ends them as the rollout completes or fails.
        Operation.objects.filter(pk__in=carried).update(
            status=Operation.Status.ROLLING_OUT,
            generations=changes.generations,
            updated=timezone.now(),
        )
    else:
        finish(carried, Operation.Status.SUCCEEDED)


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
        with claimed(app_id) as claim:
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
