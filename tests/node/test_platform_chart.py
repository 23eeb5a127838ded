"""The platform from its own image and chart, on the real node: the image built here from
docker/Dockerfile and pushed to the registry beside the node, the chart installed with a Postgres
and a Redis of its own, the migrate Job run, the probes passing on a real kubelet, and the worker
inside the cluster, with nothing but its ServiceAccount, reconciling an app whose dyno answers."""

from __future__ import annotations

import base64
import glob
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kubernetes import client
from kubernetes.stream import stream

from apps.kube.adapter import Cluster
from tests.conftest import ARTIFACTS, ROOT, stop_process
from tests.deploy.test_helm_chart import CHART, helm
from tests.helpers import HEROKU, wait_until
from tests.node.conftest import PLACEMENT, REGISTRY, SAMPLE_COMMANDS, get, sample

pytestmark = pytest.mark.cluster
HOST = os.environ["PAAS_NODE_HOST_IP"]  # this machine's end of the node's link
NODE = os.environ["PAAS_NODE_NAME"]
INSTALLATION = "paas-in-cluster"  # not the test run's: neither touches the other's objects
RELEASE = "paas"
# The name the platform answers to: a real ALLOWED_HOSTS, so a probe must name it too.
SITE = "paas.example.test"
APP = "in-cluster"
# A first pull of the platform's image and its first migrations take a while on a slow machine.
INSTALL_SECONDS = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def platform_image() -> str:
    """The platform's image, built by scripts/images (cached by the hash of what it copies in)
    and pushed to the node's registry."""
    images = str(ROOT / "scripts" / "images")
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "platform-image.log", "ab") as log:
        subprocess.run([images, "push", REGISTRY, "platform"], stdout=log, stderr=log, check=True)
    tag = subprocess.run([images, "tag", "platform"], capture_output=True, text=True, check=True)
    return f"{REGISTRY}/{tag.stdout.strip()}"


@pytest.fixture
def services() -> Iterator[tuple[str, str]]:
    """A Postgres and a Redis of the in-cluster platform's own (it starts from an empty database,
    as a new installation does), listening on this machine's end of the node's link, which only
    this machine and the node's pods reach."""
    pg_bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    data = Path(tempfile.mkdtemp(prefix="paas-chart-pg-", dir="/var/tmp"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(data, "postgres")
    pg_port, redis_port = free_port(), free_port()

    def pg(*command: str) -> None:
        subprocess.run([*as_postgres, *command], check=True, capture_output=True, timeout=60)

    pg(f"{pg_bin}/initdb", "-D", str(data), "-U", "paas", "--auth=trust", "--no-sync")
    link = ipaddress.ip_interface(f"{HOST}/30").network
    with open(data / "pg_hba.conf", "a") as hba:
        for network in (link, os.environ["PAAS_POD_CIDR"]):
            hba.write(f"host all all {network} trust\n")
    options = f"-c listen_addresses={HOST} -p {pg_port} -k {data} -c fsync=off"
    log = str(data / "server.log")
    pg(f"{pg_bin}/pg_ctl", "-D", str(data), "-l", log, "-w", "-o", options, "start")
    redis = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            HOST,
            "--port",
            str(redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"postgres://paas@{HOST}:{pg_port}/postgres", f"redis://{HOST}:{redis_port}/0"
    finally:
        stop_process(redis)
        pg(f"{pg_bin}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(data)


def call(base: str, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    """The in-cluster platform's API, over HTTP to its web pod."""
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Accept": HEROKU, "Content-Type": "application/json", "Host": SITE, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def exec_in(kube_api: client.ApiClient, pod: Any, command: list[str]) -> str:
    return str(
        stream(
            client.CoreV1Api(kube_api).connect_get_namespaced_pod_exec,
            pod.metadata.name,
            pod.metadata.namespace,
            command=command,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
        )
    )


def values(image: str, database_url: str, redis_url: str) -> dict[str, Any]:
    repository, tag = image.rsplit(":", 1)
    return {
        "image": {"repository": repository, "tag": tag},
        "installationId": INSTALLATION,
        "databaseUrl": database_url,
        "redisUrl": redis_url,
        "secretKey": base64.b64encode(os.urandom(32)).decode(),
        "configEncryptionKeys": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "web": {"replicas": 1},
        "allowedHosts": SITE,
        # The platform's own pods, and the apps' dynos (as PLACEMENT says), on the real node.
        "nodeSelector": {"paas.dev/node": "real"},
        "tolerations": [
            {"key": "paas.dev/node", "operator": "Equal", "value": "real", "effect": "NoSchedule"}
        ],
        "apps": {
            "nodeSelector": PLACEMENT["APP_NODE_SELECTOR"],
            "tolerations": PLACEMENT["APP_TOLERATIONS"],
        },
    }


def keep_logs(core: client.CoreV1Api, namespace: str) -> dict[str, str]:
    """Each platform pod's log, and its last container's before a restart, by pod name; each is
    also saved for a reader."""
    logs = {}
    pods: list[Any] = core.list_namespaced_pod(namespace).items
    for pod in pods:
        name = pod.metadata.name
        restarted = any(s.restart_count for s in pod.status.container_statuses or [])
        text = ""
        for previous in (True, False) if restarted else (False,):
            try:
                text += core.read_namespaced_pod_log(name, namespace, previous=previous)
            except client.ApiException as error:
                text += f"(no log: {error.reason})\n"
        (ARTIFACTS / f"chart-{name}.log").write_text(text)
        logs[name] = text
    return logs


def ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def test_the_platform_runs_from_its_chart_and_its_worker_reconciles_an_app(
    platform_image, services, namespace, kube_api, tmp_path
):
    core = client.CoreV1Api(kube_api)
    ours = Cluster(kube_api, installation=INSTALLATION)
    app_namespace = f"app-{APP}"
    (tmp_path / "values.json").write_text(json.dumps(values(platform_image, *services)))
    installed = helm(
        "install",
        RELEASE,
        CHART,
        "--namespace",
        namespace,
        "-f",
        str(tmp_path / "values.json"),
        "--wait",
        "--wait-for-jobs",
        "--timeout",
        f"{INSTALL_SECONDS}s",
        timeout=INSTALL_SECONDS + 30,
    )
    try:
        # --wait returned once the pre-install migrate Job had succeeded (on the empty database)
        # and every Deployment's pods were Ready: on the web, by its readiness probe.
        assert installed.returncode == 0, installed.stderr
        with psycopg.connect(services[0]) as db:
            migrated = db.execute("SELECT count(*) FROM django_migrations").fetchone()
        assert migrated is not None
        assert migrated[0] > 0
        pods = core.list_namespaced_pod(namespace).items
        components = {p.metadata.labels.get("app.kubernetes.io/component"): p for p in pods}
        assert {"web", "worker", "beat", "observer"} <= set(components)
        for component in ("web", "worker", "beat", "observer"):
            pod = components[component]
            assert pod.spec.node_name == NODE, component
            assert ready(pod), component
            assert pod.status.container_statuses[0].restart_count == 0, component
        # Every component is confined and probed; the exec probes pass as the kubelet runs them
        # (the web's passed already: its pod is Ready although ALLOWED_HOSTS is no pod IP).
        for component in ("web", "worker", "beat", "observer"):
            spec = components[component].spec
            assert spec.security_context.seccomp_profile.type == "RuntimeDefault", component
            assert spec.security_context.run_as_non_root, component
            (container,) = spec.containers
            assert container.security_context.allow_privilege_escalation is False, component
            assert container.security_context.capabilities.drop == ["ALL"], component
            assert container.liveness_probe, component
            if container.liveness_probe._exec:
                command = [*container.liveness_probe._exec.command]
                command[-1] += " && echo probe-passed"
                passed = exec_in(kube_api, components[component], command)
                assert "probe-passed" in passed, (component, passed)
        # The worker holds no credential but its ServiceAccount's token.
        worker = components["worker"]
        assert worker.spec.service_account_name == f"{RELEASE}-worker"
        assert [v.name for v in worker.spec.volumes] == [
            v.name for v in worker.spec.volumes if v.name.startswith("kube-api-access-")
        ]

        # A first administrator, made as the README tells a new installation to, and a token.
        made = exec_in(kube_api, components["web"], ["python", "manage.py", "ensure_admin"])
        password = re.search(r"password: (\S+)", made)
        assert password, made
        base = f"http://{components['web'].status.pod_ip}:8000"
        basic = base64.b64encode(f"admin:{password[1]}".encode()).decode()
        status, body = call(
            base, "POST", "/oauth/authorizations", {}, Authorization=f"Basic {basic}"
        )
        assert status == 201, body
        bearer = {"Authorization": f"Bearer {body['access_token']['token']}"}

        status, body = call(base, "POST", "/teams/apps", {"name": APP, "team": "main"}, **bearer)
        assert status == 201, body
        status, body = call(
            base, "PATCH", f"/apps/{APP}/config-vars", {"GREETING": "from the chart"}, **bearer
        )
        assert status == 200, body
        release = {"oci_image": sample("v1"), "commands": SAMPLE_COMMANDS}
        status, body = call(base, "POST", f"/apps/{APP}/releases", release, **bearer)
        assert status == 201, body

        def answered() -> list[Any]:
            dynos = ours.list_owned(
                "Pod", namespace=app_namespace, selector="paas.dev/process-type=web"
            )
            return [
                get(f"http://{p['status']['podIP']}:5000/")
                for p in dynos
                if p["spec"].get("nodeName") == NODE and p.get("status", {}).get("podIP")
            ]

        wait_until(
            lambda: any(a and a["greeting"] == "from the chart" for a in answered()),
            timeout=INSTALL_SECONDS,
            what="the app's web dyno, made by the worker in the cluster, to answer",
        )
        # The watcher in the cluster saw it: the API reports the dyno up.
        wait_until(
            lambda: (
                [d["state"] for d in call(base, "GET", f"/apps/{APP}/dynos", **bearer)[1]] == ["up"]
            ),
            timeout=60,
            what="the in-cluster watcher to report the dyno up",
        )
        assert ours.owns(ours.read("Namespace", None, app_namespace))

        # Destroyed through the API: the worker deletes the namespace it can prove is its app's.
        status, body = call(base, "DELETE", f"/apps/{APP}", **bearer)
        assert status == 200, body
        wait_until(
            lambda: (
                (found := ours.read("Namespace", None, app_namespace)) is None
                or bool(found["metadata"].get("deletionTimestamp"))
            ),
            timeout=60,
            what="the destroyed app's namespace to be deleted",
        )
        # And none of the platform's processes logged an error on the way.
        logs = keep_logs(core, namespace)
        assert not {name for name, text in logs.items() if re.search(r"ERROR|Traceback", text)}
    finally:
        keep_logs(core, namespace)
        helm("uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", "120s")
        left = ours.read("Namespace", None, app_namespace)
        if left is not None and ours.owns(left):
            ours.delete("Namespace", None, app_namespace)
