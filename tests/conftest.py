"""Fixtures over the real services bin/test starts: Postgres, Redis, the local cluster.

The cast of users and teams, defined here only and shared by the whole suite. Each user's
password is "<username> password 1", their email "<username>@example.org".

    fixture     who or what
    ----------  ----------------------------------------------------------------------------
    alice       a user in no team, not a site administrator: the actor of the tests that call
                the services directly (they record an actor; permissions are the views'), and
                the user who signs in in tests/core
    bob         admin of team acme: he brings `team`
    charlie     admin of team globex: he brings `other_team`; in acme only if a test adds him
    root        the site administrator, in no team
    team        acme; bob is its admin when the test has bob, else it starts with no member
    other_team  globex; charlie is its admin when the test has charlie, else no member

A test that needs another kind of user (a team's plain member, a collaborator) makes it from
these, e.g. `Membership.objects.create(team=team, user=charlie, role="member")`; the
authorization matrix (tests/api) keeps its own users, one per role.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import User
from django.test import override_settings
from kubernetes import client

from apps.kube.adapter import Cluster
from apps.platform.models import Membership, Team
from paas.celery import app as celery_app
from paas.celery import worker_command
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def pytest_sessionstart(session: pytest.Session) -> None:
    # The heroku CLI commands this run drives (tests/api/conftest.py), for scripts/cli-compat.
    (ARTIFACTS / "cli-commands.jsonl").unlink(missing_ok=True)


@pytest.fixture(scope="session")
def kube_api() -> client.ApiClient:
    from apps.kube.client import api_client

    return api_client()


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """A fast hasher in tests: the real one takes a quarter of a second per password, on
    purpose. (The live server runs in this process, so sign-in through the browser agrees.)
    Not through pytest-django's `settings` fixture: some tests have a parameter of that name."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _counters_forgotten(redis_client: redis.Redis) -> Iterator[None]:
    """Every test's client signs in from 127.0.0.1 as the same few users: the sign-in failures
    (django-axes) and open log streams one test counts in Redis must not refuse the next."""
    yield
    for pattern in ("*:axes-*", "*:paas:log-streams:*"):
        for key in redis_client.scan_iter(match=pattern):
            redis_client.delete(key)


@pytest.fixture(autouse=True)
def _dyno_sizes(request: pytest.FixtureRequest) -> None:
    """A transactional test starts on an emptied database: the dyno size catalogue, which a data
    migration seeds, is put back. (Django's serialized rollback would, but it keeps the data on
    the connection object of the set-up, which Playwright's event loop hides from later tests.)"""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if not (transactional or "live_server" in request.fixturenames):
        return
    request.getfixturevalue("transactional_db")
    seed = importlib.import_module("apps.platform.migrations.0002_dyno_sizes")
    seed.create_sizes(django_apps, None)


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", "alice@example.org", "alice password 1")


@pytest.fixture
def root(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.org", "root password 1")


@pytest.fixture
def team(db: None) -> Team:
    return Team.objects.create(name="acme")


@pytest.fixture
def bob(team: Team) -> User:
    user = User.objects.create_user("bob", "bob@example.org", "bob password 1")
    Membership.objects.create(team=team, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def other_team(db: None) -> Team:
    return Team.objects.create(name="globex")


@pytest.fixture
def charlie(other_team: Team) -> User:
    """Must never see acme's apps."""
    user = User.objects.create_user("charlie", "charlie@example.org", "charlie password 1")
    Membership.objects.create(team=other_team, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.fixture(autouse=True)
def _namespaces_made_by_the_test_are_deleted(kube_api: client.ApiClient) -> Iterator[None]:
    """The cluster outlives each test's database: the namespaces a test's apps made are deleted
    after it, as destroying those apps would, so a later test may reuse their names. The
    session's worker first drops what the test left queued and ends what it runs: a reconcile
    still under way would make its app's namespace after this looked. Namespaces are told apart
    by uid, not name: one still terminating when the test began may be gone and made again by
    the test under the same name."""
    kube = Cluster(kube_api, installation=settings.INSTALLATION_ID)
    before = {n["metadata"]["uid"] for n in kube.list_owned("Namespace")}
    yield
    queue_emptied_and_session_worker_idle()
    for found in kube.list_owned("Namespace"):
        meta = found["metadata"]
        if meta["uid"] not in before and not meta.get("deletionTimestamp"):
            kube.delete("Namespace", None, meta["name"])


@pytest.fixture
def kube(kube_api: client.ApiClient) -> Cluster:
    """A request-counting client of the local cluster, fresh for each test."""
    return Cluster(kube_api, installation=settings.INSTALLATION_ID)


@pytest.fixture
def namespace(kube_api: client.ApiClient) -> Iterator[str]:
    core = client.CoreV1Api(kube_api)
    name = f"test-{uuid.uuid4().hex[:10]}"
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"paas.test": "true"}))
    )
    yield name
    core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
def pod_logs_dir() -> Path:
    path = Path(os.environ["PAAS_POD_LOGS_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(settings.REDIS_URL)
    yield connection
    connection.close()


def image_archive(name: str) -> str:
    """The OCI archive scripts/images built of one of its images (sample, sample-v2, ...)."""
    found = subprocess.run(
        [str(ROOT / "scripts" / "images"), "path", name], capture_output=True, text=True, check=True
    )
    return found.stdout.strip()


def env_on_test_database() -> dict[str, str]:
    """The environment for a process of ours that must use the test database."""
    db = settings.DATABASES["default"]
    return os.environ | {
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
    }


def start_worker(
    log_name: str, *, resync_seconds: int | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """A Celery worker process on the test database; returns (process, hostname) once it
    answers a ping. With resync_seconds it also runs the scheduler, resyncing that often."""
    hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
    ARTIFACTS.mkdir(exist_ok=True)
    extra, env = [], dict(env or {})
    if resync_seconds is not None:
        extra = ["--beat", "--schedule", str(ARTIFACTS / f"beat-{hostname}")]
        env["RESYNC_SECONDS"] = str(resync_seconds)
    log = open(ARTIFACTS / log_name, "ab")  # noqa: SIM115 - the process writes it until it ends
    process = subprocess.Popen(
        worker_command(hostname, *extra),
        cwd=ROOT,
        env=env_on_test_database() | env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a test can kill it whole
    )
    wait_until(
        lambda: (
            process.poll() is not None
            or celery_app.control.ping(destination=[hostname], timeout=0.5)
        ),
        timeout=60,
        what="the Celery worker to answer a ping",
    )
    assert process.poll() is None, f"the Celery worker exited; see {log_name}"
    return process, hostname


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


_session_worker: list[str] = []


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker: object) -> Iterator[str]:
    """A real Celery worker process consuming from the test Redis, on the test database."""
    process, hostname = start_worker("celery-worker.log")
    _session_worker.append(hostname)
    yield hostname
    _session_worker.clear()
    stop_process(process)


@pytest.fixture
def workers(transactional_db: None) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], str]]]:
    """start_worker for one test. After it, and before its database is emptied (it depends on
    transactional_db, so its teardown runs first), the workers it started are stopped, the tasks
    their schedulers queued are purged and the session's worker is idle: a task still running
    while the tables are truncated deadlocks the flush."""
    started: list[subprocess.Popen[bytes]] = []

    def start(log_name: str, **options: Any) -> tuple[subprocess.Popen[bytes], str]:
        process, hostname = start_worker(log_name, **options)
        started.append(process)
        return process, hostname

    yield start
    for process in started:
        stop_process(process)
    queue_emptied_and_session_worker_idle()


@contextmanager
def session_worker_paused() -> Iterator[None]:
    """The session's worker, if it runs, takes no task meanwhile: a test's own workers get them."""
    paused = list(_session_worker)
    if paused:
        celery_app.control.cancel_consumer("celery", destination=paused, reply=True)
    try:
        yield
    finally:
        if paused:
            celery_app.control.add_consumer("celery", destination=paused, reply=True)


def queue_emptied_and_session_worker_idle() -> None:
    """Drops the tasks still queued and returns once the session's worker, if it runs, has
    finished what it was running: after this, no task of the test touches anything."""
    celery_app.control.purge()
    if _session_worker:
        wait_until(
            partial(_idle, _session_worker), timeout=60, what="the session's worker to be idle"
        )


def _idle(hostnames: list[str]) -> bool:
    """Every one of these workers answers that it runs no task and holds none prefetched."""
    inspect = celery_app.control.inspect(destination=hostnames, timeout=1)
    return all(
        found is not None and len(found) == len(hostnames) and not any(found.values())
        for found in (inspect.active(), inspect.reserved())
    )


class Watcher:
    """The cluster watcher process (`manage.py observe`) on the test database, started when a test
    first asks for it and kept for the next ones. A test that runs an Observer of its own stops it
    first: two watchers would both write the same dynos."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.process.poll() is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            with open(ARTIFACTS / "observer.log", "ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "manage.py", "observe"],
                    cwd=ROOT,
                    env=env_on_test_database(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        return self.process

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@pytest.fixture(scope="session")
def _watcher(django_db_setup: None) -> Iterator[Watcher]:
    watcher = Watcher()
    yield watcher
    watcher.stop()


@pytest.fixture
def observer_process(_watcher: Watcher) -> subprocess.Popen[bytes]:
    """The cluster watcher, running."""
    return _watcher.start()


@pytest.fixture
def observer_stopped(_watcher: Watcher) -> None:
    """No cluster watcher process runs: the test runs an Observer of its own."""
    _watcher.stop()


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


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright; the suite never downloads a browser of its own."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own database calls
    # stay synchronous, so Django's guard against ORM use from async code does not apply.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("PAAS_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    # Whatever the Content Security Policy blocks, Chromium reports on the console: every
    # browser test thereby checks that the pages need no inline script and nothing elsewhere.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert not blocked, blocked


def screenshot(page: object, name: str) -> Path:
    """Saves a screenshot under test-artifacts/screenshots for a reviewer to look at."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
