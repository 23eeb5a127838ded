"""The official Heroku CLI (npm package `heroku`, installed by scripts/heroku-cli, which bin/test
runs and exports as PAAS_HEROKU_BIN) driven against pytest-django's live server.

Every invocation runs in a clean environment with a HOME of its test's own, and is appended to
test-artifacts/heroku-cli.log. The CLI is also told that its HTTP(S) proxy is a local listener
that answers nothing (a ProxyTrap): the CLI reaches the live server directly (NO_PROXY), so any
connection the trap receives is an attempt to reach some other host (api.heroku.com, the
telemetry or login services...), and the `heroku` fixture fails the test at teardown.
Tests that use it need `@pytest.mark.django_db(transaction=True)`, as the live server does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes import client

from apps.api.tokens import token_create
from apps.platform.models import App, Team
from apps.platform.services import app_create, release_deploy
from tests.conftest import ARTIFACTS, ROOT, env_on_test_database, stop_process
from tests.helpers import wait_until

LOG = ARTIFACTS / "heroku-cli.log"
COMMANDS = ARTIFACTS / "cli-commands.jsonl"
# Bearer auth is sent only to these exact hostnames (see shared/heroku/CLI_WIRE.md, section 1).
LOCAL_HOSTS = ("localhost", "127.0.0.1")
TRAP_ANSWER = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class ProxyTrap:
    """A TCP listener on loopback that records the first line of each connection it gets
    (`CONNECT api.heroku.com:443 HTTP/1.1`, say), answers 502 and hangs up. It forwards nothing."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.connections: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="proxy-trap", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self._record(connection)

    def _record(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(2)
            try:
                first_line = connection.recv(4096).split(b"\r\n", 1)[0]
                connection.sendall(TRAP_ANSWER)
            except OSError:
                first_line = b""
        self.connections.append(first_line.decode(errors="replace") or "(a silent connection)")

    def close(self) -> None:
        """Stops listening, after taking the connections still waiting to be accepted."""
        self._stop.set()
        self._thread.join()
        self._server.setblocking(False)
        while True:
            try:
                connection, _ = self._server.accept()
            except BlockingIOError:
                break
            self._record(connection)
        self._server.close()


def record(args: tuple[str, ...], *, ok: bool) -> None:
    """Notes a command the tests ran and whether it did what the test expected: what
    scripts/cli-compat builds the README's table of commands from."""
    ARTIFACTS.mkdir(exist_ok=True)
    with COMMANDS.open("a") as log:
        log.write(json.dumps({"argv": list(args), "ok": ok}) + "\n")


class HerokuCLI:
    """Runs the `heroku` executable against the live server: `heroku("apps", token=...)`."""

    def __init__(self, executable: str, server_url: str, home: Path, trap: ProxyTrap, test: str):
        self.executable = executable
        self.server_url = server_url
        self.home = home
        self.trap = trap
        self.test = test
        node = shutil.which("node")
        assert node, "Node.js (node) is not on PATH; the Heroku CLI needs it"
        # The CLI's folder first: some of its hooks spawn `heroku` by name.
        path = [str(Path(executable).parent), str(Path(node).parent), "/usr/local/bin", "/usr/bin"]
        self.env: dict[str, str] = {
            "HOME": str(home),  # so ~/.netrc, ~/.config/heroku and ~/.gitconfig are the test's own
            "PATH": os.pathsep.join(dict.fromkeys([*path, "/bin"])),
            "LANG": "C.UTF-8",
            "HEROKU_HOST": server_url,
            "HEROKU_PARTICLEBOARD_URL": server_url,
            "DISABLE_TELEMETRY": "true",
            "HEROKU_SKIP_ANALYTICS": "1",
            "HEROKU_SKIP_NEW_VERSION_CHECK": "true",
            # Otherwise each invocation (a new HOME each test) leaves an `update --autoupdate`
            # child running after it.
            "HEROKU_DISABLE_AUTOUPDATE": "1",
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
            "CI": "true",
            "COLUMNS": "200",  # wide tables, so that rows are not wrapped
            "HTTP_PROXY": trap.url,
            "HTTPS_PROXY": trap.url,
            "http_proxy": trap.url,
            "https_proxy": trap.url,
            "NO_PROXY": ",".join(LOCAL_HOSTS),
            "no_proxy": ",".join(LOCAL_HOSTS),
        }

    @contextlib.contextmanager
    def follow(self, *args: str, token: str) -> Iterator[list[str]]:
        """Runs a command that streams until stopped (`logs --tail`) in the background; yields
        the list its output lines are added to as they come, and ends it after."""
        process = subprocess.Popen(
            [self.executable, *args],
            env=self.env | {"HEROKU_API_KEY": token},
            cwd=self.home,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True).start()
        try:
            yield lines
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __call__(
        self,
        *args: str,
        token: str | None = None,
        input: str | None = None,  # as subprocess.run names it
        timeout: float = 60,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        exits: int = 0,
    ) -> subprocess.CompletedProcess[str]:
        """Runs `heroku ARGS...`; with a token, as HEROKU_API_KEY. `env` adds or overrides
        variables; `cwd` is where it runs (a git checkout), its home otherwise. Standard input
        is `input`, or empty, so the CLI never waits for a person.
        With `check`, another exit status than `exits` fails the test; a time-out always does."""
        command = [self.executable, *args]
        run_env = (
            self.env | ({"HEROKU_API_KEY": token} if token is not None else {}) | dict(env or {})
        )
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            env=run_env,
            cwd=cwd or self.home,
            text=True,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, to end whatever it leaves running
        )
        timed_out = False
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            with contextlib.suppress(ProcessLookupError):  # the group is gone already
                os.killpg(process.pid, signal.SIGKILL)
        if timed_out:
            stdout, stderr = process.communicate()
        seconds = time.monotonic() - started
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        shown = shlex.join(["heroku", *args])
        report = self._log(shown, result, seconds, timed_out, run_env)
        record(args, ok=result.returncode == exits)
        if timed_out:
            pytest.fail(f"`{shown}` did not finish within {timeout:g}s\n{report}", pytrace=False)
        if check and result.returncode != exits:
            pytest.fail(f"`{shown}` failed\n{report}", pytrace=False)
        return result

    def _log(
        self,
        shown: str,
        result: subprocess.CompletedProcess[str],
        seconds: float,
        timed_out: bool,
        env: Mapping[str, str],
    ) -> str:
        extra = {k: v for k, v in env.items() if self.env.get(k) != v}
        if "HEROKU_API_KEY" in extra:
            extra["HEROKU_API_KEY"] = "***"
        status = "timed out" if timed_out else f"exit code {result.returncode}"
        report = (
            f"$ {shown}\n"
            + (f"extra env: {extra}\n" if extra else "")
            + f"{status} after {seconds:.1f}s\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}\n"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        with LOG.open("a") as log:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log.write(f"=== {stamp} {self.test} ({self.server_url})\n{report}\n")
        return report


@pytest.fixture
def heroku(live_server: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[HerokuCLI]:
    """A callable that runs the official Heroku CLI against the live server; see HerokuCLI."""
    executable = os.environ.get("PAAS_HEROKU_BIN")
    if not executable:
        pytest.fail(
            "PAAS_HEROKU_BIN is not set: run the tests with bin/test, or first "
            "`export PAAS_HEROKU_BIN=$(scripts/heroku-cli)`",
            pytrace=False,
        )
    if not os.access(executable, os.X_OK):
        pytest.fail(f"PAAS_HEROKU_BIN={executable} is not an executable", pytrace=False)
    url = str(live_server.url)
    assert urlsplit(url).hostname in LOCAL_HOSTS, (
        f"the live server is at {url}; the CLI sends its token only to {' or '.join(LOCAL_HOSTS)}"
    )
    home = tmp_path / "heroku-home"
    home.mkdir()
    trap = ProxyTrap()
    try:
        yield HerokuCLI(executable, url, home, trap, request.node.nodeid)
    finally:
        trap.close()
    if trap.connections:
        pytest.fail(
            "the Heroku CLI tried to reach hosts other than the live server, through its proxy: "
            f"{sorted(set(trap.connections))}; see {LOG}",
            pytrace=False,
        )
    left = left_running(home)
    if left:
        pytest.fail(f"the Heroku CLI left processes running: {left}", pytrace=False)


def left_running(home: Path) -> list[str]:
    """Command lines of processes still running with this HOME: the CLI spawns detached
    children (its auto-update, for one) that outlive it unless told not to."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if f"HOME={home}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip())
    return found


@pytest.fixture
def rendezvous(tmp_path, settings, kube_api) -> Iterator[Path]:
    """The rendezvous server with a certificate of its own, and kwok set to carry out execs in
    any pod on this machine. Yields the certificate, for the CLI to trust."""
    cert, key = tmp_path / "rendezvous.pem", tmp_path / "rendezvous.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.RENDEZVOUS_PORT, settings.RENDEZVOUS_CERT = port, str(cert)
    settings.RENDEZVOUS_KEY, settings.RENDEZVOUS_HOST = str(key), "localhost"
    settings.RENDEZVOUS_ENABLED = True
    objects = client.CustomObjectsApi(kube_api)
    try:
        objects.create_cluster_custom_object(
            "kwok.x-k8s.io",
            "v1alpha1",
            "clusterexecs",
            {
                "apiVersion": "kwok.x-k8s.io/v1alpha1",
                "kind": "ClusterExec",
                "metadata": {"name": "local"},
                "spec": {"execs": [{"local": {"workDir": "/tmp"}}]},
            },
        )
    except client.ApiException as error:
        if error.status != 409:  # 409: there already
            raise
    env = env_on_test_database() | {
        "RENDEZVOUS_CERT": str(cert),
        "RENDEZVOUS_KEY": str(key),
        "RENDEZVOUS_PORT": str(port),
    }
    log = (ARTIFACTS / "rendezvous.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rendezvous", "--bind", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_until(lambda: _listening(port), what="the rendezvous server")
    yield cert
    stop_process(process)
    log.close()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


IMAGE = "registry.example.com/shop:v1"


@pytest.fixture
def token(bob: Any) -> str:
    """An API token of bob's, for the CLI's HEROKU_API_KEY."""
    return token_create(user=bob, name="cli")[1]


@pytest.fixture
def deployed(bob: Any, team: Team) -> App:
    """An app with web and worker process types, deployed."""
    app = app_create(actor=bob, team=team, name=f"cli-{uuid.uuid4().hex[:6]}")
    release_deploy(actor=bob, app=app, image=IMAGE, commands={"web": "serve", "worker": "work"})
    return app
