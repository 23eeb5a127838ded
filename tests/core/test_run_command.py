"""bin/run started as a new user would: nothing configured, a fresh state folder."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.config import new_client_from_config

from tests.conftest import ARTIFACTS, ROOT, screenshot
from tests.helpers import wait_until

pytestmark = pytest.mark.cluster


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def test_run_command_comes_up_all_green_and_stops_on_ctrl_c(tmp_path: Path, page):
    ports = {"PORT": free_port(), "PAAS_PG_PORT": free_port(), "PAAS_REDIS_PORT": free_port()}
    inherited = {
        "DATABASE_URL",
        "REDIS_URL",
        "KUBECONFIG",
        "PAAS_PROFILE",
        "PAAS_STATE_DIR",
        "PAAS_POD_LOGS_DIR",
        "DJANGO_SETTINGS_MODULE",
        "PAAS_ENV",
    }
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    env |= {k: str(v) for k, v in ports.items()}
    # A real node of its own (network 2), beside bin/test's and any bin/run of the developer's.
    env |= {
        "PAAS_STATE_DIR": str(tmp_path / "state"),
        "PAAS_CLUSTER_NAME": "paas-run-test",
        "PAAS_NODE_NET": "2",
    }
    base = f"http://127.0.0.1:{ports['PORT']}"
    output = ARTIFACTS / "bin-run.log"
    ARTIFACTS.mkdir(exist_ok=True)

    started = time.monotonic()
    with output.open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "bin" / "run")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        try:
            check_it_comes_up(process, base, output, started, page)
            kubeconfig = (
                tmp_path / "state" / "kwok" / "clusters" / "paas-run-test" / "kubeconfig.yaml"
            )
            apiserver = re.search(r"server: https://127.0.0.1:(\d+)", kubeconfig.read_text())
            assert apiserver, "bin/run wrote a kubeconfig for the local cluster"
            ports["kube-apiserver"] = int(apiserver[1])
            check_the_first_app_really_runs(base, env, tmp_path, kubeconfig)
        finally:
            # Ctrl-C in a terminal signals the whole foreground process group.
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=90)
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
        assert process.returncode in (0, 130), output.read_text()[-3000:]
        for name, port in ports.items():
            assert not port_open(port), f"{name} ({port}) still served after Ctrl-C"
        # The real node went with it, leaving no network namespace, interface or cgroup.
        assert (
            "paas-node2"
            not in subprocess.run(
                ["ip", "netns", "list"], capture_output=True, text=True, check=True
            ).stdout
        )
        assert not Path("/sys/class/net/paas2-host").exists()
        assert not list(Path("/sys/fs/cgroup").glob("*/paas-node2"))
    finally:
        for script in ("postgres", "cluster"):
            subprocess.run([str(ROOT / "scripts" / script), "delete"], env=env, check=False)


def api(base: str, method: str, path: str, body: Any, **headers: str) -> Any:
    request = urllib.request.Request(
        base + path,
        json.dumps(body).encode(),
        method=method,
        headers={
            "Accept": "application/vnd.heroku+json; version=3",
            "Content-Type": "application/json",
            **headers,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def check_the_first_app_really_runs(
    base: str, env: dict[str, str], tmp_path: Path, kubeconfig: Path
) -> None:
    """As the README tells a new user: an app, the sample image from the local registry released
    with `bin/paas deploy`, and its web dyno answers from a real container."""
    printed = (ARTIFACTS / "bin-run.log").read_text()
    password = re.search(r"password: (\S+)", printed)
    assert password, printed[-2000:]
    basic = base64.b64encode(f"admin@example.com:{password[1]}".encode()).decode()
    token = api(base, "POST", "/oauth/authorizations", {}, Authorization=f"Basic {basic}")
    secret = token["access_token"]["token"]
    api(
        base,
        "POST",
        "/teams/apps",
        {"name": "hello", "team": "main"},
        Authorization=f"Bearer {secret}",
    )
    deployed = subprocess.run(
        [
            str(ROOT / "bin" / "paas"),
            "deploy",
            "172.30.2.1:5000/paas/sample:v1",
            "-a",
            "hello",
            "--procfile",
            str(ROOT / "examples" / "sample" / "Procfile"),
        ],
        env=env | {"PAAS_SERVER": base, "PAAS_TOKEN": secret, "XDG_CONFIG_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert deployed.returncode == 0, deployed.stderr
    core = client.CoreV1Api(new_client_from_config(str(kubeconfig)))

    def answer() -> dict[str, Any] | None:
        pods = core.list_pod_for_all_namespaces(label_selector="paas.dev/app=hello").to_dict()
        for pod in pods["items"]:
            ip = (pod.get("status") or {}).get("pod_ip")
            if ip and (pod.get("spec") or {}).get("node_name") == "paas-run-test-node":
                status, body = get(f"http://{ip}:5000/")
                if status == 200:
                    return dict(json.loads(body))
        return None

    found = wait_until(answer, timeout=120, interval=0.5, what="the sample app to answer")
    assert found is not None
    assert found["app"] == "hello"
    assert found["image"] == "v1"


def check_it_comes_up(
    process: subprocess.Popen[bytes], base: str, output: Path, started: float, page
) -> None:
    wait_until(
        lambda: get(f"{base}/login/")[0] == 200 or process.poll() is not None,
        timeout=240,
        interval=0.5,
        what="the login page",
    )
    assert process.poll() is None, output.read_text()[-3000:]
    login_seconds = time.monotonic() - started

    def health() -> dict[str, Any]:
        status, body = get(f"{base}/healthz?format=json")
        return json.loads(body) if status == 200 else {}

    report: dict[str, Any] = wait_until(
        health, timeout=60, interval=0.5, what="/healthz to report all green"
    )
    green_seconds = time.monotonic() - started
    assert report["healthy"] is True
    assert {c["name"] for c in report["checks"] if c["ok"]} == {
        "database",
        "redis",
        "celery",
        "cluster",
        "ownership",
        "encryption",
    }

    # The first start printed the administrator's login once; a new user signs in with it.
    printed = output.read_text()
    username = re.search(r"username: (\S+)", printed)
    password = re.search(r"password: (\S+)", printed)
    assert username, printed[-2000:]
    assert password, printed[-2000:]
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username[1])
    page.get_by_label("Password").fill(password[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_role("heading", name="Apps").is_visible()
    screenshot(page, "home")
    (ARTIFACTS / "bin-run-timing.txt").write_text(
        f"login page served after {login_seconds:.1f} s; all green after {green_seconds:.1f} s\n"
    )
