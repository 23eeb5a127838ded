"""Sign-in throttling: after repeated failures from one client, sign-in is refused for a while,
so passwords cannot be guessed at speed. Counted in the cache (Redis), shared by every process."""

from __future__ import annotations

from django.core.cache import cache

FAILURES_ALLOWED = 5
WINDOW_SECONDS = 60


def _key(client: str) -> str:
    return f"paas:signin-failures:{client}"


def login_allowed(client: str) -> bool:
    return int(cache.get(_key(client), 0)) < FAILURES_ALLOWED


def login_failed(client: str) -> None:
    key = _key(client)
    if not cache.add(key, 1, WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, WINDOW_SECONDS)
