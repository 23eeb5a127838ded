"""`heroku run`: the rendezvous protocol of the heroku CLI, bridged to an exec in a one-off dyno.

The CLI opens TLS to the `attach_url` (rendezvous://host:port/SECRET), writes the secret and a
line end, throws away the first chunk it reads, and then the connection is a plain two-way byte
stream. Here the secret is a signed session naming the dyno's pod and the command; the command
runs by an exec in the pod with the connection as its stdin, stdout and stderr, and the pod is
deleted when it ends.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import ssl
import threading
import time
from typing import Any

from django.conf import settings
from django.core import signing
from kubernetes import client
from kubernetes.stream import stream
from websocket import WebSocketException

from apps.kube.client import api_client

SALT = "paas.rendezvous"
SESSION_SECONDS = 300
POD_START_SECONDS = 90
CLOSE_SECONDS = 10  # how long the CLI has to close its side once the command ended
log = logging.getLogger(__name__)


def session_url(host: str, *, namespace: str, pod: str, command: str) -> str:
    secret = signing.dumps({"ns": namespace, "pod": pod, "command": command}, salt=SALT)
    return f"rendezvous://{host}:{settings.RENDEZVOUS_PORT}/{secret}"


def _read_line(connection: ssl.SSLSocket) -> str:
    data = b""
    while not data.endswith(b"\n") and len(data) < 8192:
        chunk = connection.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def _wait_running(core: client.CoreV1Api, namespace: str, pod: str) -> bool:
    deadline = time.monotonic() + POD_START_SECONDS
    while time.monotonic() < deadline:
        try:
            found: Any = core.read_namespaced_pod(pod, namespace)
            if found.status.phase == "Running":
                return True
        except client.ApiException as error:
            if error.status != 404:
                raise
        time.sleep(0.5)
    return False


def _pump_stdin(connection: ssl.SSLSocket, exec_stream: Any) -> None:
    """Passes the user's input to the command while it runs, and reads to the end after: a
    socket closed with input unread is reset, and a reset can cost the CLI the last output it
    had not read yet, the exit status among it."""
    try:
        while data := connection.recv(4096):
            # Without a terminal the CLI ends its input with ^D.
            data = data.replace(b"\x04", b"")
            if data and exec_stream.is_open():
                exec_stream.write_stdin(data)
    except (OSError, ValueError):
        pass


def _forward(exec_stream: Any, connection: ssl.SSLSocket) -> None:
    for output in (exec_stream.read_stdout(), exec_stream.read_stderr()):
        if output:
            connection.sendall(output)


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        context: ssl.SSLContext = self.server.context  # type: ignore[attr-defined]
        try:
            connection = context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with connection:
            try:
                session = signing.loads(_read_line(connection), salt=SALT, max_age=SESSION_SECONDS)
            except signing.BadSignature:
                connection.sendall(b"rendezvous\r\n")
                connection.sendall(b"This session has expired or is invalid.\r\n")
                return
            # The CLI discards the first chunk it receives: a banner of its own.
            connection.sendall(b"rendezvous\r\n")
            self._run(connection, session)

    def _run(self, connection: ssl.SSLSocket, session: dict[str, str]) -> None:
        core = client.CoreV1Api(api_client())
        namespace, pod = session["ns"], session["pod"]
        if not _wait_running(core, namespace, pod):
            connection.sendall(b"The one-off dyno did not start in time.\r\n")
            return
        exec_stream = stream(
            core.connect_get_namespaced_pod_exec, pod, namespace,
            command=["/bin/sh", "-c", session["command"]],
            stdin=True, stdout=True, stderr=True, tty=False, _preload_content=False,
            binary=True,  # bytes through: a character split between frames stays whole
        )  # fmt: skip
        reader = threading.Thread(target=_pump_stdin, args=(connection, exec_stream), daemon=True)
        reader.start()
        log.info("session for %s/%s", namespace, pod)
        try:
            while exec_stream.is_open():
                try:
                    exec_stream.update(timeout=1)
                except (OSError, WebSocketException) as error:
                    # The exec's connection ended without its close; what it buffered still
                    # goes to the user below.
                    log.info("exec stream of %s/%s ended: %r", namespace, pod, error)
                    break
                _forward(exec_stream, connection)
            _forward(exec_stream, connection)
        except OSError:
            pass  # the user went away: the dyno goes too
        finally:
            log.info("session for %s/%s ended", namespace, pod)
            exec_stream.close()
            with contextlib.suppress(OSError):
                # Tells the CLI it is over; it closes its side in turn, which ends the reader.
                connection.shutdown(socket.SHUT_WR)
            reader.join(timeout=CLOSE_SECONDS)
            try:
                core.delete_namespaced_pod(pod, namespace, grace_period_seconds=0)
            except client.ApiException as error:
                if error.status != 404:
                    log.warning("could not delete one-off dyno %s: %s", pod, error.reason)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(address, Handler)


def serve(host: str, port: int, certfile: str, keyfile: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    with Server((host, port), context) as server:
        log.info("rendezvous on %s:%s", host, port)
        server.serve_forever()
