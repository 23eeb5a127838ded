"""The dashboard's pages under load, each against a trivial Django view measured in the same run.

With BENCH_APPS apps (default 1,000) of 3 process types each in one team, wrk (a second process)
keeps BENCH_CONNECTIONS connections (default 8) busy for BENCH_SECONDS (default 20) on each of,
in BENCH_ROUNDS rounds (default 5) that each visit every page:
/livez (the baseline: no database, no template), the apps list, a search, and one app's overview,
served by gunicorn as the Procfile runs it. Prints requests/s, median, p90 and p99 latency, and
each page's median and p99 as a ratio to /livez's. Every response must be a 200: anything else
(an error, a redirect to the login page) stops the run.

Run through benchmarks/pages, which starts private services for it and installs wrk.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from statistics import median

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paas.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.platform.encryption import new_data_key, seal_all  # noqa: E402
from apps.platform.models import (  # noqa: E402
    Activity,
    App,
    Dyno,
    DynoSize,
    Membership,
    Operation,
    ProcessStatus,
    ProcessType,
    Release,
    Team,
)

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("BENCH_STATE_DIR", ROOT / ".state" / "bench-pages"))
APPS = int(os.environ.get("BENCH_APPS", "1000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
# As the Procfile runs the web process (paas/gunicorn.py): 4 workers, 2 threads each for pages.
WORKERS = os.environ.get("BENCH_WORKERS", "4")
PROCESSES = (("web", 2, "bin/web"), ("worker", 1, "bin/worker"), ("clock", 1, "bin/clock"))
IMAGE = "registry.example.com/bench/app"

# Counts every status wrk sees across its threads: wrk itself only counts >= 400 as errors, and a
# redirect to the login page would pass as a fast 302.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not_ok = 0; first_bad = 0 end
function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
    if first_bad == 0 then first_bad = status end
  end
end
function done(summary, latency, requests)
  local not_ok, first_bad = 0, 0
  for _, t in ipairs(threads) do
    not_ok = not_ok + t:get("not_ok")
    if first_bad == 0 then first_bad = t:get("first_bad") end
  end
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "socket_errors": %d, "not_ok": %d,'
    .. ' "first_bad": %d, "p50": %d, "p90": %d, "p99": %d}\\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    not_ok, first_bad, latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


@dataclass
class Figures:
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float


def seed() -> User:
    """Reseeds from scratch on every run, so the figures never depend on an earlier run's data."""
    call_command("migrate", verbosity=0)
    App.objects.all().delete()
    Activity.objects.all().delete()
    user, _ = User.objects.get_or_create(username="bench")
    user.set_password(uuid.uuid4().hex)
    user.save()
    team, _ = Team.objects.get_or_create(name="bench")
    Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": Membership.Role.ADMIN}
    )
    size = DynoSize.objects.first()
    assert size is not None, "the migrations seed the dyno sizes"
    now = timezone.now()
    with transaction.atomic():
        apps = App.objects.bulk_create(
            App(
                name=f"app-{i:04d}",
                team=team,
                namespace=f"app-app-{i:04d}",
                data_key=new_data_key(),
            )
            for i in range(APPS)
        )
        ProcessType.objects.bulk_create(
            ProcessType(app=app, name=name, command=command, quantity=quantity, size=size)
            for app in apps
            for name, quantity, command in PROCESSES
        )
        # Most apps running, some deploying, a few failed, so every state is rendered.
        statuses, dynos, releases, operations, activities = [], [], [], [], []
        for i, app in enumerate(apps):
            deploying, failed = i % 10 == 0, i % 50 == 7
            for name, quantity, _ in PROCESSES:
                state = ProcessStatus.State.COMPLETE
                if deploying and name == "web":
                    state = ProcessStatus.State.PROGRESSING
                elif failed and name == "worker":
                    state = ProcessStatus.State.FAILED
                statuses.append(
                    ProcessStatus(
                        app=app,
                        name=name,
                        generation=3,
                        observed_generation=3,
                        desired=quantity,
                        current=quantity,
                        updated=quantity,
                        ready=quantity,
                        available=quantity,
                        state=state,
                        message="crash loop" if state == "failed" else "",
                    )
                )
                for number in range(1, quantity + 1):
                    dynos.append(
                        Dyno(
                            app=app,
                            process_type=name,
                            number=number,
                            pod_name=f"{app.name}-{name}-{number}",
                            pod_uid=uuid.uuid4().hex,
                            release=3,
                            state=Dyno.State.UP,
                            ready=True,
                            created=now - timedelta(hours=number),
                        )
                    )
            for version in (1, 2, 3):
                releases.append(
                    Release(
                        app=app,
                        version=version,
                        image=f"{IMAGE}:v{version}",
                        config=seal_all(
                            app, {"DATABASE_URL": "postgres://db/app", "LOG_LEVEL": "info"}
                        ),
                        commands={name: command for name, _, command in PROCESSES},
                        description=f"Deploy {IMAGE}:v{version}",
                        created_by=user,
                    )
                )
            for kind in (Operation.Kind.CREATE, Operation.Kind.DEPLOY, Operation.Kind.SCALE):
                operations.append(
                    Operation(
                        app=app,
                        kind=kind,
                        status=Operation.Status.SUCCEEDED,
                        created_by=user,
                        finished=now,
                    )
                )
            if deploying:
                operations.append(
                    Operation(
                        app=app,
                        kind=Operation.Kind.DEPLOY,
                        status=Operation.Status.ROLLING_OUT,
                        created_by=user,
                        generations={"web": 3},
                    )
                )
            activities += [
                Activity(
                    app=app,
                    app_name=app.name,
                    actor=user,
                    action="app.create",
                    after={"name": app.name},
                ),
                Activity(
                    app=app,
                    app_name=app.name,
                    actor=user,
                    action="release.deploy",
                    after={"image": f"{IMAGE}:v3", "version": 3},
                ),
                Activity(
                    app=app,
                    app_name=app.name,
                    actor=user,
                    action="formation.update",
                    after={name: {"quantity": q, "size": size.name} for name, q, _ in PROCESSES},
                ),
            ]
        ProcessStatus.objects.bulk_create(statuses)
        Dyno.objects.bulk_create(dynos)
        Release.objects.bulk_create(releases)
        Operation.objects.bulk_create(operations)
        Activity.objects.bulk_create(activities)
    # Fresh statistics, as autovacuum would keep them: plans made on the last seed's figures
    # (or none) move the results from run to run.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return user


def session_cookie(user: User) -> str:
    """A signed-in session, as django.contrib.auth.login() stores it."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key is not None
    return f"sessionid={session.session_key}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_gunicorn(port: int) -> subprocess.Popen[bytes]:
    # DEBUG off, as in production: with it on every query is logged through a debug cursor,
    # which taxes the pages and not the baseline. Its static files need a collectstatic.
    env = {**os.environ, "DEBUG": "false", "STATIC_ROOT": str(STATE / "static")}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log = open(STATE / "gunicorn.log", "ab")  # noqa: SIM115
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "python:paas.gunicorn",
            "paas.asgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            WORKERS,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}: see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer within 30 s: see {log.name}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def check(base: str, cookie: str, path: str, must_contain: str, count: tuple[str, int]) -> None:
    """One request before the load: a 200 showing what the page should (never the login page)."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(base + path, headers={"Cookie": cookie})
    try:
        with opener.open(request, timeout=30) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"GET {path}: {error.code} {error.headers.get('Location', '')}") from error
    marker, expected = count
    found = body.count(marker)
    if status != 200 or must_contain not in body or found != expected:
        raise SystemExit(
            f"GET {path}: {status}, {must_contain!r} {'in' if must_contain in body else 'not in'}"
            f" the page, {found} x {marker!r} (expected {expected})"
        )


def load(base: str, cookie: str, path: str, seconds: int) -> Figures:
    script = STATE / "status.lua"
    script.write_text(WRK_SCRIPT)
    result = subprocess.run(
        [
            "wrk",
            "--threads",
            str(min(2, CONNECTIONS)),
            "--connections",
            str(CONNECTIONS),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "10s",
            "--script",
            str(script),
            "--header",
            f"Cookie: {cookie}",
            base + path,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"wrk failed on {path}: {result.stderr or result.stdout}")
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    figures = json.loads(line.removeprefix("RESULT "))
    if figures["not_ok"] or figures["socket_errors"] or not figures["requests"]:
        raise SystemExit(
            f"GET {path} under load: {figures['not_ok']} responses other than 200"
            f" (first {figures['first_bad']}), {figures['socket_errors']} socket errors,"
            f" {figures['requests']} requests\n{result.stdout}"
        )
    return Figures(
        requests_per_second=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50"] / 1000,
        p90_ms=figures["p90"] / 1000,
        p99_ms=figures["p99"] / 1000,
    )


def main() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    user = seed()
    apps, process_types = App.objects.count(), ProcessType.objects.count()
    took = time.perf_counter() - started
    print(
        f"seeded {apps} apps, {process_types} process types, {Dyno.objects.count()} dynos,"
        f" {Release.objects.count()} releases, {Operation.objects.count()} operations"
        f" in {took:.1f} s"
    )
    cookie = session_cookie(user)
    overview = "/apps/app-0500/"
    pages = [
        ("/livez", "baseline"),
        ("/", "apps list"),
        ("/?q=app-05", "search"),
        (overview, "app overview"),
    ]
    port = free_port()
    server = start_gunicorn(port)
    base = f"http://127.0.0.1:{port}"
    try:
        check(base, cookie, "/livez", "ok", ("ok", 1))
        rows = '<th scope="row">'
        check(base, cookie, "/", "app-0099", (rows, min(APPS, 100)))
        check(base, cookie, "/?q=app-05", "app-0599", (rows, min(max(APPS - 500, 0), 100)))
        check(base, cookie, overview, "app-0500", ('process type"', len(PROCESSES)))
        for path, _ in pages:
            load(base, cookie, path, 2)  # warms both workers' connections, caches and imports
        # Round after round of every page, each ratio taken within its round: this machine's
        # speed drifts (neighbours, CPU steal) by up to 3x over a minute, which a baseline
        # measured once, a minute before the last page, would put into the ratios.
        rounds: list[dict[str, Figures]] = [
            {path: load(base, cookie, path, max(1, SECONDS // ROUNDS)) for path, _ in pages}
            for _ in range(ROUNDS)
        ]
    finally:
        server.terminate()
        server.wait()

    print(
        f"\n{CONNECTIONS} connections, {ROUNDS} rounds of {max(1, SECONDS // ROUNDS)} s per page"
        f" (wrk), gunicorn {WORKERS} workers x 2 page threads;"
        f" {apps} apps, {process_types} process types in the database\n"
        "figures are medians over the rounds; each ratio is against /livez in the same round\n"
    )
    header = f"{'page':<34}{'req/s':>9}{'median':>10}{'p90':>10}{'p99':>10}"
    print(f"{header}{'median x':>10}{'p99 x':>9}{'median x range':>17}")
    for path, label in pages:
        runs = [r[path] for r in rounds]
        medians = sorted(r[path].p50_ms / r["/livez"].p50_ms for r in rounds)
        p99s = [r[path].p99_ms / r["/livez"].p99_ms for r in rounds]
        print(
            f"{label + ' ' + path:<34}{median(f.requests_per_second for f in runs):>9.0f}"
            f"{median(f.p50_ms for f in runs):>8.1f}ms{median(f.p90_ms for f in runs):>8.1f}ms"
            f"{median(f.p99_ms for f in runs):>8.1f}ms{median(medians):>9.1f}x"
            f"{median(p99s):>8.1f}x{medians[0]:>10.1f}-{medians[-1]:.1f}x"
        )


if __name__ == "__main__":
    main()
