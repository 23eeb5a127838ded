"""The web process as the Procfile and the image run it (gunicorn with paas/gunicorn.py), on the
test database: open log streams wait on the event loop, so they cannot take the threads that the
pages, the API and the probes need.

Before, gunicorn's threads served streams: two workers of two threads were taken by four open
tabs, and /livez, every page and the API waited for one to close."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.api.tokens import token_create
from apps.platform.models import Activity, App
from apps.platform.services import app_create
from tests.conftest import ARTIFACTS, ROOT, env_on_test_database, stop_process
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
# Each request must be answered within this; a request waiting for a thread waits far longer.
ANSWER_SECONDS = 15


def _procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("the Procfile has no web process")


@pytest.fixture
def web() -> Iterator[int]:
    """The Procfile's web process with two workers; yields its port once /livez answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = env_on_test_database() | {
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "web-server.log").open("ab") as log:
        process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {_procfile_web()}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: process.poll() is not None or _status(port, "/livez") == 200,
            timeout=60,
            what="the web process to answer /livez",
        )
        assert process.poll() is None, "the web process exited; see web-server.log"
        yield port
    finally:
        stop_process(process)


def _status(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_SECONDS)
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def _cookie(user: User) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}


class Stream:
    """One open log stream, read line by line."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_SECONDS)
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()

    def until(self, text: bytes) -> bytes:
        seen = b""
        while text not in seen:
            line = self.response.readline()
            assert line, f"the stream ended before {text!r}; it sent {seen!r}"
            seen += line
        return seen

    def close(self) -> None:
        self.connection.close()


def _opened(port: int, path: str, headers: dict[str, str]) -> Stream | None:
    stream = Stream(port, path, headers)
    if stream.response.status == 200:
        return stream
    stream.close()
    return None


def _api_stream(port: int, app: App, headers: dict[str, str]) -> Stream:
    """`heroku logs --tail`: a log session, then its URL."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_SECONDS)
    body = json.dumps({"tail": True, "lines": 0})
    connection.request("POST", f"/apps/{app.name}/log-sessions", body=body, headers=headers)
    url = json.loads(connection.getresponse().read())["logplex_url"]
    connection.close()
    return Stream(port, urlsplit(url).path, {})


def test_eight_open_log_streams_leave_the_pages_the_api_and_the_probe_answering(
    web, bob, charlie, team, other_team
):
    billing = app_create(actor=bob, team=team, name="billing")
    ledger = app_create(actor=charlie, team=other_team, name="ledger")
    bob_cookie, charlie_cookie = _cookie(bob), _cookie(charlie)
    token = token_create(user=charlie, name="server")[1]
    api = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.heroku+json; version=3",
        "Content-Type": "application/json",
    }
    dashboard = [Stream(web, f"/apps/{billing.name}/logs/stream", bob_cookie) for _ in range(4)]
    dashboard += [Stream(web, f"/apps/{ledger.name}/logs/stream", charlie_cookie) for _ in range(3)]
    for stream in dashboard:
        assert stream.response.status == 200
        assert stream.until(b"retry: 2000\n") == b"retry: 2000\n"
    cli = _api_stream(web, ledger, api)
    assert cli.response.status == 200

    # Eight streams open on two workers: everything else still answers.
    assert _status(web, "/livez") == 200
    assert _status(web, "/", bob_cookie) == 200
    assert _status(web, f"/apps/{billing.name}/", bob_cookie) == 200
    assert _status(web, "/apps", api) == 200

    # A fifth stream of the same user is refused; the streams carry what happens meanwhile.
    assert _status(web, f"/apps/{billing.name}/logs/stream", bob_cookie) == 429
    for app in (billing, ledger):
        Activity.objects.create(
            app=app, app_name=app.name, actor=bob, action="dyno.restart", after={"target": "all"}
        )
    for stream in dashboard:
        assert b"Restarted all dynos by user bob" in stream.until(b"Restarted")
    assert b"paas[api]: Restarted all dynos by user bob" in cli.until(b"Restarted")

    # The client going away is noticed: its place is free again.
    dashboard[0].close()
    again = wait_until(
        lambda: _opened(web, f"/apps/{billing.name}/logs/stream", bob_cookie),
        timeout=ANSWER_SECONDS,
        what="a place freed by the closed stream",
    )
    assert again.until(b"retry: 2000\n")
    for stream in [again, cli, *dashboard[1:]]:
        stream.close()


@pytest.mark.parametrize(
    ("path", "streams"),
    [
        ("/apps/billing/logs/stream", True),
        ("/api/log-sessions/signed", True),
        ("/apps/billing/logs", False),
        ("/apps/billing/", False),
        ("/livez", False),
        ("/no/such/page", False),
    ],
)
def test_only_log_streams_are_served_on_the_event_loop(path, streams):
    """Pages under Django's ASGI handler were three times slower than under its WSGI one."""
    from paas.asgi import _streams

    assert _streams(path) is streams
