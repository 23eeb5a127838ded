"""bin/run started as a new user would: nothing configured, a fresh state folder."""

from __future__ import annotations

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
    inherited = {"DATABASE_URL", "REDIS_URL", "KUBECONFIG", "PAAS_PROFILE", "PAAS_STATE_DIR",
                 "PAAS_POD_LOGS_DIR", "DJANGO_SETTINGS_MODULE", "PAAS_ENV"}  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    env |= {k: str(v) for k, v in ports.items()}
    env |= {"PAAS_STATE_DIR": str(tmp_path / "state"), "PAAS_CLUSTER_NAME": "paas-run-test"}
    base = f"http://127.0.0.1:{ports['PORT']}"
    output = ARTIFACTS / "bin-run.log"
    ARTIFACTS.mkdir(exist_ok=True)

    started = time.monotonic()
    with output.open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "bin" / "run")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        try:
            check_it_comes_up(process, base, output, started, page)
            kubeconfig = (
                tmp_path / "state" / "kwok" / "clusters" / "paas-run-test" / "kubeconfig.yaml"
            )
            apiserver = re.search(r"server: https://127.0.0.1:(\d+)", kubeconfig.read_text())
            assert apiserver, "bin/run wrote a kubeconfig for the local cluster"
            ports["kube-apiserver"] = int(apiserver[1])
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
    finally:
        for script in ("postgres", "cluster"):
            subprocess.run([str(ROOT / "scripts" / script), "delete"], env=env, check=False)


def check_it_comes_up(
    process: subprocess.Popen[bytes], base: str, output: Path, started: float, page
) -> None:
    wait_until(lambda: get(f"{base}/login/")[0] == 200 or process.poll() is not None,
               timeout=240, interval=0.5, what="the login page")  # fmt: skip
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
