"""The rendezvous server (`heroku run`) against clients that hold on: one that sends its secret a
byte at a time, and more connections at once than it serves."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from apps.platform import rendezvous
from tests.helpers import wait_until

Start = Callable[..., int]


@pytest.fixture
def start(tmp_path, monkeypatch) -> Iterator[Start]:
    """Starts a rendezvous server in this process; returns its port."""
    cert, key = tmp_path / "rendezvous.pem", tmp_path / "rendezvous.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    servers: list[rendezvous.Server] = []

    def started(*, handshake: float, sessions: int) -> int:
        monkeypatch.setattr(rendezvous, "HANDSHAKE_SECONDS", handshake)
        monkeypatch.setattr(rendezvous, "SESSIONS_MAX", sessions)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = rendezvous.Server(("127.0.0.1", 0), context)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield started
    for server in servers:
        server.shutdown()
        server.server_close()


def _tls(port: int) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5))


def _held(sock: socket.socket, seconds: float) -> bool:
    """Whether the server keeps the connection open, silent, for that long."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True
    except OSError:
        return False


def test_a_secret_sent_a_byte_at_a_time_is_cut_off_at_the_handshake_deadline(start):
    """Each read had a timeout, but a byte every 0.2 s reset it: 8 KiB took half an hour."""
    port = start(handshake=3, sessions=8)
    tls = _tls(port)
    began = time.monotonic()
    while time.monotonic() - began < 15:
        try:
            tls.sendall(b"x")
        except OSError:
            break
        if not _held(tls, 0.2):
            break
    assert time.monotonic() - began < 8


def test_connections_beyond_the_bound_are_closed_at_once_and_served_once_places_free(start):
    port = start(handshake=30, sessions=2)
    # Silent clients: each holds a place while the server waits for its TLS handshake.
    holding = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    assert all(_held(sock, 0.5) for sock in holding)
    beyond = socket.create_connection(("127.0.0.1", port))
    assert not _held(beyond, 5), "a third connection was served"
    beyond.close()
    for sock in holding:
        sock.close()

    def served() -> bool:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            return _held(sock, 0.5)

    wait_until(served, timeout=10, what="a place freed by the closed connections")
