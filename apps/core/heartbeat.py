"""The scheduler's heartbeat: beat enqueues it, a worker records it, /healthz reads its age.

A fresh timestamp proves the whole background path works: beat is ticking, the broker delivers,
and a worker runs tasks.
"""

from __future__ import annotations

import time

import redis
from django.conf import settings

KEY = "paas:heartbeat"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def heartbeat_record() -> float:
    now = time.time()
    client = _redis()
    try:
        client.set(KEY, repr(now))
    finally:
        client.close()
    return now


def heartbeat_age() -> float | None:
    """Seconds since the last heartbeat, or None when none was ever recorded."""
    client = _redis()
    try:
        raw = client.get(KEY)
    finally:
        client.close()
    return None if raw is None else max(0.0, time.time() - float(raw))
