"""The sample app (examples/sample) as a local process: what every later test relies on it for.

It needs neither the database nor the cluster, so none of these tests is marked django_db or
cluster.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_until

APP = Path(__file__).resolve().parents[2] / "examples" / "sample" / "app.py"


class Sample:
    """One `app.py COMMAND` process whose output lines are collected as they come."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        # Only what the platform would set: the tests' own switches must not leak in.
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SAMPLE_", "PAAS_"))}
        clean.pop("GREETING", None)
        self.process = subprocess.Popen(
            [sys.executable, str(APP), command],
            env=clean | {"PORT": "0", "SAMPLE_TICK_SECONDS": "0.2"} | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def line(self, pattern: str, *, timeout: float = 10) -> re.Match[str]:
        """The first output line matching pattern, waiting for it to come."""

        def found() -> re.Match[str] | None:
            return next(filter(None, (re.fullmatch(pattern, line) for line in self.lines)), None)

        try:
            match: re.Match[str] | None = wait_until(
                found, timeout=timeout, what=f"a line {pattern!r}"
            )
        except AssertionError as error:
            raise AssertionError(f"{error}; its output so far: {self.lines}") from None
        assert match is not None  # wait_until returns only what is truthy
        return match

    @property
    def port(self) -> int:
        return int(self.line(r"listening on 0\.0\.0\.0:(\d+) release=.*").group(1))

    def get(self, path: str) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self, signum: int = signal.SIGTERM, *, timeout: float = 1) -> int:
        self.process.send_signal(signum)
        returncode = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)  # the rest of its output, up to the end
        return returncode


@pytest.fixture
def start() -> Iterator[type[Sample]]:
    started: list[Sample] = []

    class Started(Sample):
        def __init__(self, command: str, env: dict[str, str]) -> None:
            super().__init__(command, env)
            started.append(self)

    yield Started
    for sample in started:
        if sample.process.poll() is None:
            sample.process.kill()
            sample.process.wait()


def test_web_answers_json_from_the_environment_and_logs_each_request(start):
    env = {"PAAS_APP": "shop", "PAAS_RELEASE_VERSION": "v3", "PAAS_PROCESS_TYPE": "web"}
    web = start("web", env | {"GREETING": "bonjour"})

    status, body = web.get("/")

    assert status == 200
    answer = json.loads(body)
    assert answer["app"] == "shop"
    assert answer["release"] == "v3"
    assert answer["process"] == "web"
    assert answer["greeting"] == "bonjour"
    assert answer["hostname"]
    assert web.line(r"request GET / 200 release=v3")
    assert web.get("/healthz") == (200, b"ok\n")
    assert web.line(r"request GET /healthz 200 release=v3")


def test_web_greets_with_hello_by_default_and_ticks(start):
    web = start("web", {"PAAS_RELEASE_VERSION": "v4"})

    assert json.loads(web.get("/")[1])["greeting"] == "hello"
    assert web.line(r"tick release=v4 greeting=hello")


def test_sigterm_stops_web_with_status_0_within_a_second(start):
    web = start("web", {"PAAS_RELEASE_VERSION": "v1"})
    assert web.get("/healthz")[0] == 200

    assert web.stop(timeout=1) == 0
    assert "stopping on SIGTERM" in web.lines


def test_crash_on_start_exits_1_saying_why(start):
    crashing = start("web", {"SAMPLE_CRASH_ON_START": "1"})

    assert crashing.process.wait(timeout=10) == 1
    crashing.line(r"crashing on start as SAMPLE_CRASH_ON_START asks")


def test_a_failing_healthcheck_answers_503_to_every_request(start):
    web = start("web", {"SAMPLE_FAIL_HEALTHCHECK": "1", "PAAS_RELEASE_VERSION": "v2"})

    assert web.get("/healthz")[0] == 503
    assert web.get("/")[0] == 503
    assert web.line(r"request GET /healthz 503 release=v2")


def test_burning_cpu_still_serves(start):
    web = start("web", {"SAMPLE_BURN_CPU": "1"})

    assert web.get("/healthz")[0] == 200


def test_worker_ticks_until_sigterm(start):
    worker = start("worker", {"PAAS_RELEASE_VERSION": "v5"})

    assert worker.line(r"worker tick release=v5")
    assert worker.stop(timeout=1) == 0
    assert "stopping on SIGTERM" in worker.lines


RELEASE_OUTCOMES = [
    ({"PAAS_RELEASE_VERSION": "v6"}, 0, "release phase release=v6"),
    ({"SAMPLE_FAIL_RELEASE": "1"}, 1, "release phase failing as SAMPLE_FAIL_RELEASE asks"),
]


@pytest.mark.parametrize(("env", "status", "says"), RELEASE_OUTCOMES)
def test_release_phase(start, env, status, says):
    release = start("release", env)

    assert release.process.wait(timeout=10) == status
    release.line(re.escape(says))
