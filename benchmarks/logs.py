"""Live log tail latency: from a line appended to a pod's log to its appearance in the browser.

An app of 50 web dynos on the local cluster, each pod's log a file of its own that kwok serves;
the logs page open in headless Chromium, tailing all of them through gunicorn. Lines carrying a
unique id are appended to the files, a few a second, some at once; a MutationObserver in the
page stamps each `.log-line` as it is added. Both clocks are this machine's wall clock (their
offset is measured and taken off). Goal: p95 under 1 s. Baseline: the same append read by one
direct follow stream of one pod through the Python client (`kubectl logs -f`).

Then, with the browser closed: /livez, the app's overview page and the API's app list, each
requested one after another, first with no tail open and then with TAILS tails of the app open
(two users, as one user may hold four), served by the two web workers. Prints their latency and
its ratio to the same request's with no tail open.

Run through benchmarks/logs, which starts private services for it.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paas.settings")
# Playwright's sync API runs an event loop on this thread; the ORM calls here stay synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from kubernetes import client  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from apps.api.tokens import token_create  # noqa: E402
from apps.kube.adapter import ClusterError  # noqa: E402
from apps.kube.client import api_client  # noqa: E402
from apps.platform.installation import cluster  # noqa: E402
from apps.platform.models import App, Dyno, Membership, Team  # noqa: E402
from apps.platform.services import (  # noqa: E402
    ProcessChange,
    app_create,
    formation_update,
    release_deploy,
)
from paas.celery import app as celery_app  # noqa: E402
from paas.celery import worker_command  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("PAAS_STATE_DIR", ROOT / ".state" / "bench-logs"))
LOGS_DIR = Path(os.environ["PAAS_POD_LOGS_DIR"])
PODS = int(os.environ.get("BENCH_PODS", "50"))
LINES = int(os.environ.get("BENCH_LINES", "200"))
BASELINE_LINES = 40
TAILS = 8
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))  # per URL, with and without the tails
INTERVAL = 0.25  # seconds between rounds of appends; 1 to 3 pods at once per round
IMAGE = "registry.example.com/bench-logs:v1"
PASSWORD = "bench logs password 1"
ID = re.compile(r"bench-([0-9a-f]{12})")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Stamps every tail line carrying an id with the page's wall clock, once, as it is added.
OBSERVE = """() => {
  window.benchSeen = {};
  const box = document.getElementById("log-lines");
  new MutationObserver((records) => {
    const now = performance.timeOrigin + performance.now();
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== 1 || !node.classList.contains("log-line")) continue;
        const match = node.textContent.match(/bench-([0-9a-f]{12})/);
        if (match && !(match[1] in window.benchSeen)) window.benchSeen[match[1]] = now;
      }
    }
  }).observe(box, {childList: true});
}"""

T = TypeVar("T")


def wait(probe: Callable[[], T], what: str, timeout: float = 120, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(interval)
    raise SystemExit(f"timed out waiting for {what}")


def start(name: str, *argv: str) -> subprocess.Popen[bytes]:
    log = open(STATE / f"bench-{name}.log", "ab")  # noqa: SIM115 - written until the process ends
    return subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def attach_log_file(api: client.ApiClient, namespace: str, pod: str, path: Path) -> None:
    """As tests/kwok.py: kwok serves `path` as the pod's logs, followed as it grows."""
    path.touch()
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "kwok.x-k8s.io",
        "v1alpha1",
        namespace,
        "logs",
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Logs",
            "metadata": {"name": pod, "namespace": namespace},
            "spec": {"logs": [{"containers": [], "logsFile": str(path), "follow": True}]},
        },
    )


def append_line(path: Path, message: str) -> float:
    """Appends one CRI line (`<RFC3339Nano> stdout F <message>`); returns when it was written."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with path.open("a") as log:
        log.write(f"{stamp} stdout F {message}\n")
    return time.time()


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def figures(latencies: list[float]) -> str:
    ms = [x * 1000 for x in latencies]
    return (
        f"median {statistics.median(ms):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms,"
        f" p99 {percentile(ms, 0.99):.0f} ms, max {max(ms):.0f} ms"
    )


def clock_offset(page: Page) -> float:
    """The page's wall clock minus ours, in seconds, from the quickest of a few round trips."""
    samples: list[tuple[float, float]] = []
    for _ in range(10):
        before = time.time()
        theirs: float = page.evaluate("performance.timeOrigin + performance.now()") / 1000
        after = time.time()
        samples.append((after - before, theirs - (before + after) / 2))
    return min(samples)[1]


def seen_in_page(page: Page, offset: float) -> dict[str, float]:
    stamps: dict[str, float] = page.evaluate("window.benchSeen")
    return {key: value / 1000 - offset for key, value in stamps.items()}


def deploy(actor: User, team: Team) -> App:
    app = app_create(actor=actor, team=team, name="bench-logs")
    release_deploy(actor=actor, app=app, image=IMAGE, commands={"web": "serve"})
    formation_update(actor=actor, app=app, changes=[ProcessChange("web", quantity=PODS)])
    wait(
        lambda: Dyno.objects.filter(app=app, state=Dyno.State.UP).count() >= PODS,
        f"{PODS} dynos up",
        timeout=180,
        interval=0.5,
    )
    return app


def attach_logs(app: App) -> dict[str, Path]:
    """Gives every pod its own log file, and waits until kwok serves each of them: a follow
    stream opened before that would read the shared default file for as long as it lasts."""
    api, kube = api_client(), cluster()
    files = {}
    for pod in Dyno.objects.filter(app=app).values_list("pod_name", flat=True):
        files[pod] = LOGS_DIR / f"{app.namespace}-{pod}.log"
        attach_log_file(api, app.namespace, pod, files[pod])
        append_line(files[pod], f"{pod} attached")

    def served(pod: str) -> bool:
        try:
            return any(f"{pod} attached" in line for line in kube.pod_log(app.namespace, pod))
        except ClusterError:
            return False

    waiting = set(files)

    def all_served() -> bool:
        waiting.difference_update([pod for pod in list(waiting) if served(pod)])
        return not waiting

    wait(all_served, "kwok to serve every pod's own file", timeout=60)
    return files


def browser_latency(page: Page, files: dict[str, Path], offset: float) -> list[float]:
    """LINES lines spread across every pod, 1 to 3 pods at once every INTERVAL."""
    rng = random.Random(7)
    pods = list(files)
    appended: dict[str, float] = {}
    while len(appended) < LINES:
        for pod in rng.sample(pods, min(rng.randint(1, 3), LINES - len(appended))):
            line_id = new_id()
            appended[line_id] = append_line(files[pod], f"bench-{line_id} from {pod}")
        time.sleep(INTERVAL)
    # Anything not in the page 10 s after the last append is counted as missed.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(seen_in_page(page, offset).keys() & appended) < LINES:
        time.sleep(0.2)
    seen = seen_in_page(page, offset)
    latencies = [seen[i] - at for i, at in appended.items() if i in seen]
    missed = LINES - len(latencies)
    print(
        f"browser tail over {len(latencies)} lines from {len(pods)} pods ({missed} missed):"
        f" {figures(latencies)}"
    )
    return latencies


def direct_latency(page: Page, app: App, pod: str, path: Path, offset: float) -> list[float]:
    """The same appends to one pod read by one direct follow stream (`kubectl logs -f`), the
    browser's tail still open; the browser's figure for these very lines is printed beside it."""
    received: dict[str, float] = {}
    response: Any = client.CoreV1Api(api_client()).read_namespaced_pod_log(
        pod, app.namespace, follow=True, tail_lines=1, _preload_content=False
    )

    def read() -> None:
        buffer = ""
        with contextlib.suppress(Exception):  # the stream is shut from under it at the end
            # read_chunked hands over each chunk as it arrives, as kubectl's reader does.
            for chunk in response.read_chunked():
                at = time.time()
                buffer += chunk.decode()
                *lines, buffer = buffer.split("\n")
                for line in lines:
                    if match := ID.search(line):
                        received.setdefault(match[1], at)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    appended: dict[str, float] = {}
    for _ in range(BASELINE_LINES):
        line_id = new_id()
        appended[line_id] = append_line(path, f"bench-{line_id} baseline")
        time.sleep(INTERVAL)
    wait(lambda: received.keys() >= appended.keys(), "the direct stream", timeout=10, interval=0.1)
    time.sleep(2)  # the browser's last lines
    with_browser = seen_in_page(page, offset)
    response.connection.sock.shutdown(socket.SHUT_RDWR)
    response.release_conn()
    direct = [received[i] - at for i, at in appended.items()]
    tail = [with_browser[i] - at for i, at in appended.items() if i in with_browser]
    print(
        f"direct follow stream of one pod over {len(direct)} lines: {figures(direct)};"
        f" the browser tail on the same lines: {figures(tail)}"
    )
    return direct


def request_latency(port: int, path: str, headers: dict[str, str]) -> list[float]:
    """REQUESTS requests one after another on one connection; every answer must be a 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies = []
    try:
        for _ in range(REQUESTS):
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                raise SystemExit(f"GET {path} answered {response.status}")
    finally:
        connection.close()
    return latencies


def open_tail(port: int, app: App, cookie: dict[str, str]) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", f"/apps/{app.name}/logs/stream", headers=cookie)
    response = connection.getresponse()
    if response.status != 200 or response.readline() != b"retry: 2000\n":
        raise SystemExit(f"a log tail answered {response.status}")
    return connection


def with_tails_open(port: int, app: App, users: list[User]) -> None:
    """Each URL's latency with no tail open, then with TAILS tails open, in one run."""
    cookies = []
    for user in users:
        browser = Client()
        browser.force_login(user)
        cookies.append({"Cookie": f"sessionid={browser.cookies['sessionid'].value}"})
    token = token_create(user=users[0], name="bench")[1]
    api = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.heroku+json; version=3"}
    urls = {
        "/livez": ("/livez", {}),
        "overview page": (f"/apps/{app.name}/", cookies[0]),
        "API app list": ("/apps", api),
    }
    before = {name: request_latency(port, *url) for name, url in urls.items()}
    tails = [open_tail(port, app, cookies[n % len(cookies)]) for n in range(TAILS)]
    try:
        time.sleep(3)  # every tail follows every dyno by now
        after = {name: request_latency(port, *url) for name, url in urls.items()}
    finally:
        for tail in tails:
            tail.close()
    print(
        f"{REQUESTS} requests per URL, one after another;"
        f" each tail follows {app.dynos.count()} dynos:"
    )
    for name in urls:
        ratio = statistics.median(after[name]) / statistics.median(before[name])
        p99 = percentile(after[name], 0.99) / percentile(before[name], 0.99)
        print(
            f"  {name}: no tail {figures(before[name])}; {TAILS} tails open {figures(after[name])};"
            f" median {ratio:.2f}x, p99 {p99:.2f}x"
        )


def main() -> None:
    call_command("migrate", verbosity=0)
    actor = User.objects.filter(username="bench").first() or User(username="bench")
    actor.set_password(PASSWORD)
    actor.save()
    second, _ = User.objects.get_or_create(username="bench-2")
    team, _ = Team.objects.get_or_create(name="bench")
    for user in (actor, second):
        Membership.objects.get_or_create(team=team, user=user, defaults={"role": "admin"})
    App.objects.all().delete()

    port = free_port()
    hostname = f"bench-logs-{new_id()[:6]}@localhost"
    python = str(ROOT / ".venv" / "bin" / "python")
    processes = [
        start("worker", *worker_command(hostname)),
        start("observer", python, "manage.py", "observe"),
        start(
            "web",
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-c",
            "python:paas.gunicorn",
            "paas.asgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: celery_app.control.ping(destination=[hostname], timeout=0.5), "the worker", 60)
        wait(lambda: serving(f"{base}/login/"), "gunicorn", 60)
        started = time.monotonic()
        app = deploy(actor, team)
        print(f"{PODS} dynos up in {time.monotonic() - started:.1f} s")
        files = attach_logs(app)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("PAAS_CHROMIUM", "/usr/bin/chromium"),
                args=CHROMIUM_ARGS,
            )
            page = browser.new_page()
            page.goto(f"{base}/login/")
            page.get_by_label("Username").fill(actor.username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/login/" not in url)
            page.goto(f"{base}/apps/{app.name}/logs")
            # A locator, not wait_for_function: the page's CSP forbids the eval that one needs.
            expect(page.locator("[data-tail-state]")).to_have_text("connected", timeout=30_000)
            page.evaluate(OBSERVE)
            offset = clock_offset(page)

            # One line per pod first: the tail follows every dyno once each has shown one.
            connected = time.time()
            warm: dict[str, float] = {}
            for path in files.values():
                line_id = new_id()
                warm[line_id] = append_line(path, f"bench-{line_id} warm")
            wait(
                lambda: seen_in_page(page, offset).keys() >= warm.keys(),
                "every pod's first line in the page",
                timeout=60,
                interval=0.1,
            )
            first = seen_in_page(page, offset)
            last = max(first[i] for i in warm) - connected
            print(
                f"page clock offset {offset * 1000:+.1f} ms; first line of each of {len(warm)}"
                f" pods: {figures([first[i] - at for i, at in warm.items()])}, all in the page"
                f" {last:.2f} s after connected"
            )

            tail = browser_latency(page, files, offset)
            pod = next(iter(files))
            direct = direct_latency(page, app, pod, files[pod], offset)
            browser.close()
        with_tails_open(port, app, [actor, second])
        ratio = statistics.median(tail) / statistics.median(direct)
        p95 = percentile(tail, 0.95)
        print(
            f"p95 {p95 * 1000:.0f} ms {'<' if p95 < 1 else '>='} 1 s (goal < 1 s);"
            f" median {ratio:.1f}x, p95 {p95 / percentile(direct, 0.95):.1f}x"
            f" the direct follow stream"
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()


if __name__ == "__main__":
    main()
