"""Reachability checks for everything the platform depends on, shown by /healthz."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection

from apps.core.heartbeat import heartbeat_age
from apps.kube.client import server_version
from apps.platform.encryption import opens_with_current
from apps.platform.installation import installation
from apps.platform.models import App, Orphan
from paas.celery import app as celery_app


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    milliseconds: int


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        row = cursor.fetchone()
    return str(row[0]).split(" on ")[0] if row else "connected"


def _redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        return f"Redis {client.info('server')['redis_version']}"
    finally:
        client.close()


def _celery() -> str:
    # A broadcast ping over the broker: proves a worker is consuming, not just that Redis is up.
    replies = celery_app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no Celery worker answered within 1 s")
    workers = f"{len(replies)} worker{'s' if len(replies) != 1 else ''} answered"
    return f"{workers}; {_beat()}"


def _beat() -> str:
    age = heartbeat_age()
    # Beat's first tick comes one interval after it starts: up to then, no heartbeat is expected.
    if age is None:
        return "no scheduler heartbeat yet"
    if age > 3 * settings.HEARTBEAT_SECONDS:
        raise RuntimeError(
            f"workers answer, but the scheduler's last heartbeat was {age:.0f} s ago"
        )
    return f"scheduler heartbeat {age:.0f} s ago"


def _cluster() -> str:
    return f"Kubernetes {server_version()}"


def _ownership() -> str:
    """This installation's id, and what the resync holds back or found without a record: an
    alarm fails the check, so monitoring that watches /healthz sees it."""
    current = installation()
    orphans = Orphan.objects.count()
    detail = f"installation {current.uid}; {orphans} orphan{'s' if orphans != 1 else ''}"
    if current.deletions_held:
        raise RuntimeError(
            f"{detail}; the resync is holding back {current.deletions_held} deletions "
            f"(over MAX_DELETIONS_PER_RESYNC={settings.MAX_DELETIONS_PER_RESYNC})"
        )
    return detail


def _encryption() -> str:
    """Whether CONFIG_ENCRYPTION_KEYS opens the apps' data keys: a wrong or missing key shows
    here, before a reconcile or a page needs a value."""
    wrapped = list(App.objects.exclude(data_key="").values_list("data_key", flat=True)[:1000])
    old = [key for key in wrapped if not opens_with_current(key)]
    if old:
        raise RuntimeError(
            f"{len(old)} data keys are not wrapped by the first of CONFIG_ENCRYPTION_KEYS: "
            "run `python manage.py rotate_encryption_key`"
        )
    return f"{len(wrapped)} data keys open with the current key"


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "redis": _redis,
    "celery": _celery,
    "cluster": _cluster,
    "ownership": _ownership,
    "encryption": _encryption,
}


def run_checks() -> list[Check]:
    results = []
    for name, probe in CHECKS.items():
        started = time.monotonic()
        try:
            ok, detail = True, probe()
        except Exception as exc:  # every failure is a finding to report, not a crash
            ok, detail = False, f"{type(exc).__name__}: {exc}".strip()[:300]
        results.append(Check(name, ok, detail, round((time.monotonic() - started) * 1000)))
    return results
