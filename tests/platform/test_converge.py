"""End to end through the real background path: a service commits, the Celery worker reconciles,
the watcher records what the cluster reports, and the operation ends. Then the faults: the API
server stopped, the worker killed mid-reconcile, Redis restarted, two scales at once."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from functools import partial

import pytest
from django.db import connection
from kubernetes import client

from apps.kube.adapter import Cluster
from apps.platform.models import Activity, App, Dyno, Operation, ProcessType
from apps.platform.services import (
    ProcessChange,
    app_create,
    config_update,
    formation_update,
    release_deploy,
)
from tests.conftest import session_worker_paused
from tests.helpers import wait_until
from tests.kwok import apiserver_paused, apiserver_stopped
from tests.platform.conftest import IMAGE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def created(alice, team, kube):
    """Apps made by a test, torn down on the cluster after it."""
    apps: list[App] = []

    def create(quantity: int = 1) -> App:
        app = app_create(actor=alice, team=team, name=f"live-{uuid.uuid4().hex[:8]}")
        formation_update(actor=alice, app=app, changes=[ProcessChange("web", quantity=quantity)])
        release_deploy(actor=alice, app=app, image=IMAGE)
        apps.append(app)
        return app

    return create


def replicas(kube: Cluster, app: App, process: str = "web") -> int | None:
    found = kube.list_owned(
        "Deployment", namespace=app.namespace, selector=f"paas.dev/process-type={process}"
    )
    return found[0]["spec"]["replicas"] if found else None


def all_succeeded(app: App) -> bool:
    statuses = set(app.operations.values_list("status", flat=True))
    return statuses <= {"succeeded", "superseded"} and "succeeded" in statuses


def test_a_scale_reaches_the_cluster_and_its_operation_succeeds(
    celery_worker, observer_process, created, alice, kube
):
    app = created(quantity=1)
    wait_until(lambda: all_succeeded(app), timeout=60, what="the deploy to succeed")

    operation = formation_update(actor=alice, app=app, changes=[ProcessChange("web", quantity=3)])

    wait_until(lambda: replicas(kube, app) == 3, timeout=30, what="3 replicas on the cluster")
    operation = wait_until(
        lambda: Operation.objects.filter(pk=operation.pk, status="succeeded").first(),
        timeout=60,
        what="the scale operation to succeed",
    )
    assert operation.generations == {"web": 2}
    assert sorted(d.name for d in app.dynos.filter(ready=True)) == ["web.1", "web.2", "web.3"]


def test_a_rolling_update_keeps_the_dyno_names(celery_worker, observer_process, created, alice):
    app = created(quantity=4)
    wait_until(lambda: all_succeeded(app), timeout=60, what="the deploy to succeed")

    release = config_update(actor=alice, app=app, changes={"MODE": "new"})

    def rolled() -> list[Dyno]:
        dynos = list(app.dynos.all())
        done = all_succeeded(app) and len(dynos) == 4
        return dynos if done and all(d.release == release.version for d in dynos) else []

    # Each new dyno takes the name of one it replaces, as on Heroku: not web.5, web.6, ...
    dynos = wait_until(rolled, timeout=60, what="the dynos to roll to the new release")
    assert sorted(d.name for d in dynos) == ["web.1", "web.2", "web.3", "web.4"]


def test_a_pod_turning_ready_shows_in_the_records_as_an_up_dyno(
    celery_worker, observer_process, created, kube_api
):
    # How fast is measured by benchmarks/reconcile (goal: within 2 s); this shows it happens.
    app = created(quantity=1)
    core = client.CoreV1Api(kube_api)

    def ready_pod() -> str:
        for pod in core.list_namespaced_pod(app.namespace).items:
            if any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []):
                return str(pod.metadata.name)
        return ""

    pod = wait_until(ready_pod, timeout=60, interval=0.05, what="a Ready pod on the cluster")
    dyno = wait_until(
        lambda: Dyno.objects.filter(app=app, pod_name=pod, ready=True).first(),
        timeout=30,
        interval=0.05,
        what="the Ready pod in the records",
    )
    assert (dyno.name, dyno.state) == ("web.1", "up")


def test_changes_wait_while_the_apiserver_is_down_and_converge_after(
    celery_worker, observer_process, created, alice, kube
):
    app = created(quantity=1)
    wait_until(lambda: all_succeeded(app), timeout=60, what="the deploy to succeed")

    with apiserver_stopped():
        operation = formation_update(
            actor=alice, app=app, changes=[ProcessChange("web", quantity=2)]
        )
        assert ProcessType.objects.get(app=app, name="web").quantity == 2
        waiting = wait_until(
            lambda: Operation.objects.filter(pk=operation.pk, error__contains="Waiting").first(),
            timeout=30,
            what="the operation to say it waits for the cluster",
        )
        assert waiting.status == "queued"

    wait_until(lambda: replicas(kube, app) == 2, timeout=90, what="the scale after the restart")
    wait_until(
        lambda: Operation.objects.filter(pk=operation.pk, status="succeeded").exists(),
        timeout=60,
        what="the operation to succeed after the restart",
    )


def _has_one_replica(kube: Cluster, app: App) -> bool:
    return replicas(kube, app) == 1


def test_killing_the_worker_mid_reconcile_loses_nothing(
    celery_worker, workers, created, alice, kube
):
    with session_worker_paused():  # the apps' tasks wait in Redis for the worker killed here
        apps = [created(quantity=1) for _ in range(3)]
        with apiserver_paused():
            # The frozen API server holds the worker's first call in flight, after its claim
            # marked the operations applying; the long timeout keeps it there until the kill.
            process, _ = workers("celery-worker-killed.log", env={"KUBE_REQUEST_TIMEOUT": "600"})
            wait_until(
                lambda: Operation.objects.filter(status="applying").exists(),
                timeout=30,
                interval=0.01,
                what="a reconcile in progress",
            )
            # The whole worker, pool processes included, as an out-of-memory kill would.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        assert Operation.objects.filter(status="applying").exists()
        # A new worker with the scheduler: the killed task's message is not redelivered for an
        # hour, so it is the resync that finds the operations left behind.
        workers("celery-worker-resync.log", resync_seconds=2)
        for app in apps:
            wait_until(
                partial(_has_one_replica, kube, app), timeout=60, what=f"{app.name} on the cluster"
            )
        wait_until(
            lambda: not Operation.objects.filter(status__in=["queued", "applying"]).exists(),
            timeout=60,
            what="no operation left queued or applying",
        )


def test_a_redis_restart_loses_no_accepted_change(created, workers, alice, kube, redis_client):
    app = created(quantity=1)
    # No worker is running: the change is accepted and its task sits in Redis...
    operation = formation_update(actor=alice, app=app, changes=[ProcessChange("web", quantity=2)])
    # ...which then restarts without its data, as the test profile's Redis does.
    redis_client.flushall()

    workers("celery-worker-redis.log", resync_seconds=2)
    wait_until(lambda: replicas(kube, app) == 2, timeout=60, what="the resync to apply it")
    operation.refresh_from_db()
    assert operation.status in ("rolling_out", "succeeded")


def test_two_concurrent_scales_end_in_the_last_committed_value_never_a_mix(
    celery_worker, created, alice, kube
):
    app = created(quantity=1)
    formation_update(actor=alice, app=app, changes=[ProcessChange("worker", quantity=1)])
    barrier = threading.Barrier(2)
    committed: list[tuple[int, int]] = []

    def scale(web: int, worker: int) -> None:
        barrier.wait()
        try:
            changes = [ProcessChange("web", quantity=web), ProcessChange("worker", quantity=worker)]
            formation_update(actor=alice, app=app, changes=changes)
            committed.append((web, worker))
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=scale, args=args) for args in ((3, 1), (5, 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(committed) == 2
    # Each update locks the app row before writing its Activity, so ids follow commit order.
    after = Activity.objects.filter(app=app, action="formation.update").order_by("-id")[0].after
    last = (after["web"]["quantity"], after["worker"]["quantity"])
    assert last in committed
    stored = dict(app.process_types.values_list("name", "quantity"))
    assert (stored["web"], stored["worker"]) == last
    wait_until(
        lambda: (replicas(kube, app, "web"), replicas(kube, app, "worker")) == last,
        timeout=60,
        what=f"the cluster to hold {last}",
    )
