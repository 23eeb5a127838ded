"""Fixtures over the real services bin/test starts: Postgres, Redis, the local cluster.

Users alice (site admin), bob and charlie are shared across tests, as in the rest of the suite.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.apps import apps as django_apps
from django.conf import settings
from django.test import override_settings
from kubernetes import client

from apps.kube.adapter import Cluster
from paas.celery import app as celery_app
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


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
def kube(kube_api: client.ApiClient) -> Cluster:
    """A request-counting client of the local cluster, fresh for each test."""
    return Cluster(kube_api)


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


def env_on_test_database() -> dict[str, str]:
    """The environment for a process of ours that must use the test database."""
    db = settings.DATABASES["default"]
    return os.environ | {
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
    }


def start_worker(
    log_name: str, *, resync_seconds: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """A Celery worker process on the test database; returns (process, hostname) once it
    answers a ping. With resync_seconds it also runs the scheduler, resyncing that often."""
    hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
    ARTIFACTS.mkdir(exist_ok=True)
    extra, env = [], {}
    if resync_seconds is not None:
        extra = ["--beat", "--schedule", str(ARTIFACTS / f"beat-{hostname}")]
        env = {"RESYNC_SECONDS": str(resync_seconds)}
    log = open(ARTIFACTS / log_name, "ab")  # noqa: SIM115 - the process writes it until it ends
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "paas", "worker", "--loglevel", "INFO",
         "--concurrency", "2", "--hostname", hostname, "--without-gossip", "--without-mingle",
         *extra],
        cwd=ROOT, env=env_on_test_database() | env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a test can kill it whole
    )  # fmt: skip
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


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker: object) -> Iterator[str]:
    """A real Celery worker process consuming from the test Redis, on the test database."""
    process, hostname = start_worker("celery-worker.log")
    yield hostname
    stop_process(process)


@pytest.fixture(scope="session")
def observer_process(django_db_setup: None) -> Iterator[subprocess.Popen[bytes]]:
    """The cluster watcher (`manage.py observe`) on the test database."""
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "observer.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "observe"],
            cwd=ROOT, env=env_on_test_database(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    yield process
    stop_process(process)


CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


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
    yield page
    context.close()


def screenshot(page: object, name: str) -> Path:
    """Saves a screenshot under test-artifacts/screenshots for a reviewer to look at."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
