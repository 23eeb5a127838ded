from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.test import Client

T = TypeVar("T")
HEROKU = "application/vnd.heroku+json; version=3"


def wait_until(
    probe: Callable[[], T], *, timeout: float = 30, interval: float = 0.1, what: str
) -> T:
    """Polls until probe() returns something truthy; fails naming what never happened."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Api:
    """The Heroku-shaped API through Django's test client, as a token's holder calls it."""

    def __init__(self, client: Client, token: str | None) -> None:
        self.client, self.token = client, token

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = self.client.generic(
            method,
            path,
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers={"Accept": HEROKU, **headers},
        )
        response.json_body = json.loads(response.content) if response.content else None  # type: ignore[attr-defined]
        return response
