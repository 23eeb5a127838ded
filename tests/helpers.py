from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.test import Client
from hypothesis import strategies as st

T = TypeVar("T")
HEROKU = "application/vnd.heroku+json; version=3"

# Input shapes that reached a 500 or a broken state before, through the API or the dashboard
# (tests/api/test_fuzz.py, tests/dashboard/test_fuzz_forms.py): a name with a trailing newline
# (`$` matched before it), digits that str.isdigit takes and int() refuses or reads, runs of
# digits that overflow, a NUL, terminal escapes, a spreadsheet formula, a well-formed day that
# does not exist (parse_date raises).
HOSTILE = st.sampled_from(
    [
        "billing\n",
        "web\n",
        "\u00b2",
        "\u0663",
        "1" * 5000,
        "\x00",
        "\x1b]0;x\x07",
        "=1+1",
        "2024-02-30",
    ]
)


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
