"""Reconciler figures, each against a baseline measured in the same run on the same cluster.

1. Scale latency: formation_update() until spec.replicas is visible in kube-apiserver, through
   the real Celery worker, against a direct Python-client PATCH of a Deployment's replicas.
2. Converge N apps x 2 process types from an empty cluster, against `kubectl apply` of the same
   manifests (into other namespaces).
   Also: from a pod turning Ready to its dyno being up in the records (goal: within 2 s).
3. A no-op resync over those apps: write and LIST requests per kind, counted by our client and by
   kube-apiserver's own request metrics, and its wall time.

Run through benchmarks/reconcile, which starts private services for it.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paas.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from kubernetes import client, watch  # noqa: E402

from apps.kube.client import api_client  # noqa: E402
from apps.kube.manifests import MANAGED_BY, desired_objects  # noqa: E402
from apps.platform.controller.desired import app_specs  # noqa: E402
from apps.platform.controller.resync import resync  # noqa: E402
from apps.platform.installation import cluster  # noqa: E402
from apps.platform.models import App, Dyno, Operation, Team  # noqa: E402
from apps.platform.services import (  # noqa: E402
    ProcessChange,
    app_create,
    formation_update,
    release_deploy,
)
from paas.celery import app as celery_app  # noqa: E402
from paas.celery import worker_command  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APPS = int(os.environ.get("BENCH_APPS", "300"))
SCALES = int(os.environ.get("BENCH_SCALES", "30"))
IMAGE = "registry.example.com/bench:v1"
WRITE_VERBS = {"APPLY", "PATCH", "POST", "PUT", "DELETE", "DELETECOLLECTION", "CREATE", "UPDATE"}
OUR_RESOURCES = {"namespaces", "secrets", "services", "deployments", "horizontalpodautoscalers"}


def wait(probe, timeout: float = 120, interval: float = 0.002):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(interval)
    raise SystemExit(f"timed out: {probe}")


def start_observer() -> subprocess.Popen[bytes]:
    log = open(ROOT / ".state" / "bench-observer.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "manage.py", "observe"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )


def start_worker() -> subprocess.Popen[bytes]:
    hostname = f"bench-{uuid.uuid4().hex[:6]}@localhost"
    log = open(ROOT / ".state" / "bench-worker.log", "ab")  # noqa: SIM115
    worker = subprocess.Popen(
        worker_command(hostname),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait(lambda: celery_app.control.ping(destination=[hostname], timeout=0.5), 60, 0.2)
    return worker


def server_writes() -> Counter[str]:
    """kube-apiserver's own count of write requests to the kinds we manage, by resource."""
    api = api_client()
    request = api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"])
    response: Any = api.call_api(*request)
    body = response.read().decode()
    counts: Counter[str] = Counter()
    for line in body.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(
            part.split("=", 1) for part in line[line.index("{") + 1 : line.index("}")].split(",")
        )
        labels = {k: v.strip('"') for k, v in labels.items()}
        if (
            labels.get("verb") in WRITE_VERBS
            and labels.get("resource") in OUR_RESOURCES
            and not labels.get("subresource")
        ):
            counts[labels["resource"]] += int(float(line.rsplit(" ", 1)[1]))
    return counts


def scale_latency(actor: User, team: Team) -> App:
    apps_api = client.AppsV1Api(api_client())
    app = app_create(actor=actor, team=team, name="bench-scale")
    formation_update(actor=actor, app=app, changes=[ProcessChange("web", quantity=1)])
    release_deploy(actor=actor, app=app, image=IMAGE)
    name, namespace = "web", app.namespace
    wait(lambda: _exists(apps_api, name, namespace), 60, 0.05)
    # The baseline scales a Deployment of its own (not ours, so no drift for us to repair).
    baseline_name = "bench-baseline"
    body = apps_api.read_namespaced_deployment(name, namespace)
    apps_api.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name=baseline_name),
            spec=client.V1DeploymentSpec(
                replicas=1,
                selector=client.V1LabelSelector(match_labels={"bench": "baseline"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"bench": "baseline"}),
                    spec=body.spec.template.spec,
                ),
            ),
        ),
    )

    # The moment kube-apiserver holds the new count is taken from a watch, the same way for both:
    # polling with GETs would burn the CPU the worker needs and measure the poll interval.
    seen: queue.Queue[tuple[str, int, float]] = queue.Queue()

    def watch_deployments() -> None:
        for event in watch.Watch().stream(apps_api.list_namespaced_deployment, namespace):
            deployment = event["object"]
            seen.put((deployment.metadata.name, deployment.spec.replicas, time.perf_counter()))

    threading.Thread(target=watch_deployments, daemon=True).start()

    def visible(deployment: str, quantity: int) -> float:
        while True:
            name_seen, replicas, at = seen.get(timeout=60)
            if (name_seen, replicas) == (deployment, quantity):
                return at

    ours, direct = [], []
    for i in range(SCALES + 3):
        quantity = 2 + i % 4  # 2, 3, 4, 5, 2, ...: always a change
        time.sleep(0.5)  # let the previous scale's pods settle, for both sides alike
        start = time.perf_counter()
        formation_update(actor=actor, app=app, changes=[ProcessChange("web", quantity=quantity)])
        took = visible(name, quantity) - start
        time.sleep(0.5)
        start = time.perf_counter()
        apps_api.patch_namespaced_deployment(
            baseline_name, namespace, {"spec": {"replicas": quantity}}
        )
        baseline = visible(baseline_name, quantity) - start
        if i >= 3:  # the first few warm the worker's pool processes and connections
            ours.append(took)
            direct.append(baseline)
    ratio = statistics.median(ours) / statistics.median(direct)
    print(
        f"scale latency over {len(ours)} scales: median {statistics.median(ours) * 1000:.1f} ms"
        f" (p90 {sorted(ours)[int(len(ours) * 0.9) - 1] * 1000:.1f} ms) through the worker,"
        f" direct PATCH median {statistics.median(direct) * 1000:.1f} ms;"
        f" ratio {ratio:.2f}x (goal < 3x)"
    )
    return app


def ready_latency(actor: User, app: App) -> None:
    """From a pod turning Ready (seen on a watch of the API server) to its dyno being up in the
    records, written by the watcher process."""
    core = client.CoreV1Api(api_client())
    ready_at: dict[str, float] = {}

    def watch_pods() -> None:
        for event in watch.Watch().stream(core.list_namespaced_pod, app.namespace):
            pod = event["object"]
            conditions = pod.status.conditions or []
            if any(c.type == "Ready" and c.status == "True" for c in conditions):
                ready_at.setdefault(pod.metadata.name, time.perf_counter())

    threading.Thread(target=watch_pods, daemon=True).start()
    delays: list[float] = []
    for _ in range(6):
        round_start = time.perf_counter()
        for quantity in (1, 5):
            formation_update(
                actor=actor, app=app, changes=[ProcessChange("web", quantity=quantity)]
            )
            time.sleep(0.2)
        recorded: dict[str, float] = {}
        deadline = time.monotonic() + 60
        while len(recorded) < 4 and time.monotonic() < deadline:
            for name in Dyno.objects.filter(app=app, ready=True).values_list("pod_name", flat=True):
                # Only pods of this round: the one kept from the last has been up for long.
                if ready_at.get(name, 0) > round_start and name not in recorded:
                    recorded[name] = time.perf_counter()
            time.sleep(0.005)
        delays += [recorded[name] - ready_at[name] for name in recorded if name in ready_at]
    delays.sort()
    p95 = delays[int(len(delays) * 0.95) - 1]
    print(
        f"pod Ready to dyno up in the records over {len(delays)} pods: median"
        f" {statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms,"
        f" max {delays[-1] * 1000:.0f} ms (goal < 2 s)"
    )


def _exists(apps_api: client.AppsV1Api, name: str, namespace: str) -> bool:
    try:
        apps_api.read_namespaced_deployment(name, namespace)
        return True
    except client.ApiException:
        return False


def settle() -> None:
    """Waits until every rollout has finished (the watcher ends the operations)."""
    wait(
        lambda: not Operation.objects.filter(status__in=Operation.ACTIVE).exists(),
        timeout=600,
        interval=1,
    )


def converge_and_resync(actor: User, team: Team) -> None:
    # Records first, with no worker running; their queued tasks are dropped so the timed
    # converge below does all the work.
    apps = []
    for i in range(APPS):
        app = app_create(actor=actor, team=team, name=f"bench-{i:04d}")
        formation_update(
            actor=actor,
            app=app,
            changes=[
                ProcessChange("web", quantity=1, command="bin/web"),
                ProcessChange("worker", quantity=0, command="bin/worker"),
            ],
        )
        release_deploy(actor=actor, app=app, image=IMAGE)
        apps.append(app)
    celery_app.control.purge()
    specs = app_specs([a.pk for a in apps])

    kube = cluster()
    start = time.perf_counter()
    report = resync(kube)
    ours = time.perf_counter() - start
    requests = sum(kube.requests.values())
    # kubectl then runs on a cluster as quiet as ours started on.
    settle()

    manifests = []
    for _, spec in specs.values():
        for obj in desired_objects(spec):
            obj = json.loads(json.dumps(obj).replace(spec.namespace, f"kc-{spec.name}"))
            obj["metadata"]["labels"][MANAGED_BY] = "kubectl-bench"
            manifests.append(obj)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump({"apiVersion": "v1", "kind": "List", "items": manifests}, file)
    kubectl = [os.environ["PAAS_KUBECTL"], "--kubeconfig", os.environ["KUBECONFIG"]]
    start = time.perf_counter()
    subprocess.run([*kubectl, "apply", "-f", file.name], check=True, stdout=subprocess.DEVNULL)
    baseline = time.perf_counter() - start
    print(
        f"converge {APPS} apps x 2 process types ({len(manifests)} objects) from empty:"
        f" {ours:.1f} s, {requests} requests, {len(report.reconciled)} apps reconciled;"
        f" kubectl apply {baseline:.1f} s; ratio {ours / baseline:.2f}x (goal < 1x)"
    )

    settle()
    before = server_writes()
    noop = cluster()
    start = time.perf_counter()
    report = resync(noop)
    took = time.perf_counter() - start
    after = server_writes()
    lists = {kind: n for (verb, kind), n in noop.requests.items() if verb == "list"}
    writes = sum(n for (verb, _), n in noop.requests.items() if verb in ("apply", "delete"))
    server = sum((after - before).values())
    print(
        f"no-op resync over {report.apps} apps: {took:.2f} s, {writes} writes sent"
        f" ({server} counted by kube-apiserver), LISTs per kind {lists},"
        f" {len(report.reconciled)} reconciled (goal: 0 writes, 1 LIST per kind)"
    )


def main() -> None:
    call_command("migrate", verbosity=0)
    actor, _ = User.objects.get_or_create(username="bench")
    team, _ = Team.objects.get_or_create(name="bench")
    App.objects.all().delete()
    # The platform's background processes, as bin/run starts them (beat aside: the benchmark
    # runs its resyncs itself).
    observer, worker = start_observer(), start_worker()
    try:
        ready_latency(actor, scale_latency(actor, team))
        worker.terminate()
        worker.wait()
        converge_and_resync(actor, team)
    finally:
        for process in (observer, worker):
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()
