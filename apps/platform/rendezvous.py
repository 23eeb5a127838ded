"""`heroku run` and `heroku run:inside`: the rendezvous protocol of the heroku CLI, bridged to an
exec in a dyno.

The CLI opens TLS to the `attach_url` (rendezvous://host:port/SECRET), writes the secret and a
line end, throws away the first chunk it reads, and then the connection is a plain two-way byte
stream. Here the secret is a signed session naming the dyno's pod and the command; the command
runs by an exec in the pod with the connection as its stdin, stdout and stderr. A one-off dyno
is deleted when it ends; a running dyno entered with `run:inside` goes on running.
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

from apps.kube.adapter import Cluster, ClusterError
from apps.kube.exec import StreamError, open_exec
from apps.kube.manifests import ONE_OFF, PROCESS_LABEL
from apps.platform.installation import cluster

SALT = "paas.rendezvous"
SESSION_SECONDS = 300
POD_START_SECONDS = 90
CLOSE_SECONDS = 10  # how long the CLI has to close its side once the command ended
# For the TLS handshake and the secret line, all told: a client that is silent, or that sends a
# byte now and then, is let go.
HANDSHAKE_SECONDS = 10
# A session that moves no byte either way for this long ends, as Heroku ends one after an hour.
IDLE_SECONDS = 3600
# Connections served at once, each by a thread; beyond it a new one is closed at once.
SESSIONS_MAX = 64
log = logging.getLogger(__name__)


def session_url(
    host: str, *, app_uid: str, namespace: str, pod: str, command: str, inside: bool = False
) -> str:
    """The attach_url of a session: in a one-off dyno, or `inside` a dyno of the formation."""
    session = {"app": app_uid, "ns": namespace, "pod": pod, "command": command}
    secret = signing.dumps(session | ({"inside": "1"} if inside else {}), salt=SALT)
    return f"rendezvous://{host}:{settings.RENDEZVOUS_PORT}/{secret}"


def _read_line(connection: ssl.SSLSocket) -> str:
    data = b""
    while not data.endswith(b"\n") and len(data) < 8192:
        chunk = connection.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


class Quiet:
    """When a session last moved a byte, either way."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def moved(self) -> None:
        self.last = time.monotonic()

    def too_long(self) -> bool:
        return time.monotonic() - self.last > IDLE_SECONDS


def _wait_running(kube: Cluster, session: dict[str, str]) -> str:
    """Waits for the dyno to run; "" once it does, else why not. Only a pod that proves itself
    this installation's dyno of the session's app (a one-off one, unless the session is to go
    inside a running dyno) is ever exec'd into."""
    deadline = time.monotonic() + POD_START_SECONDS
    while time.monotonic() < deadline:
        found = kube.read("Pod", session["ns"], session["pod"])
        if found is not None:
            labels = found["metadata"].get("labels") or {}
            one_off = labels.get(PROCESS_LABEL) == ONE_OFF
            if not kube.owns(found, session.get("app", "")) or one_off == bool(
                session.get("inside")
            ):
                return "This session names no such dyno of this platform."
            if found.get("status", {}).get("phase") == "Running":
                return ""
        time.sleep(0.5)
    return "The one-off dyno did not start in time."


def _pump_stdin(connection: ssl.SSLSocket, exec_stream: Any, quiet: Quiet) -> None:
    """Passes the user's input to the command while it runs, and reads to the end after: a
    socket closed with input unread is reset, and a reset can cost the CLI the last output it
    had not read yet, the exit status among it."""
    while True:
        try:
            data = connection.recv(4096)
        except TimeoutError:
            if quiet.too_long():
                return
            continue  # no input for a while, but output may have flowed
        except (OSError, ValueError):
            return
        if not data:
            return
        quiet.moved()
        # Without a terminal the CLI ends its input with ^D.
        data = data.replace(b"\x04", b"")
        if data and exec_stream.is_open():
            exec_stream.write_stdin(data)


def _forward(exec_stream: Any, connection: ssl.SSLSocket, quiet: Quiet) -> None:
    for output in (exec_stream.read_stdout(), exec_stream.read_stderr()):
        if output:
            quiet.moved()
            connection.sendall(output)


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        context: ssl.SSLContext = self.server.context  # type: ignore[attr-defined]
        self.request.settimeout(HANDSHAKE_SECONDS)
        # A timeout bounds each read; this bounds them all: the socket is shut at the deadline.
        deadline = threading.Timer(HANDSHAKE_SECONDS, _shut, args=(self.request.fileno(),))
        deadline.start()
        try:
            connection = context.wrap_socket(self.request, server_side=True)
            line = _read_line(connection)
        except (ssl.SSLError, OSError):
            return
        finally:
            deadline.cancel()
        if not line:
            connection.close()  # shut at the deadline, or closed by the client
            return
        with connection:
            try:
                session = signing.loads(line, salt=SALT, max_age=SESSION_SECONDS)
            except signing.BadSignature:
                connection.sendall(b"rendezvous\r\n")
                connection.sendall(b"This session has expired or is invalid.\r\n")
                return
            # The CLI discards the first chunk it receives: a banner of its own.
            connection.sendall(b"rendezvous\r\n")
            # An interactive session may be quiet for long: reads wake now and then to see
            # whether it has been quiet for too long (sends, to a client gone silent, end there).
            connection.settimeout(min(60.0, IDLE_SECONDS))
            self._run(connection, session)

    def _run(self, connection: ssl.SSLSocket, session: dict[str, str]) -> None:
        kube = cluster()
        namespace, pod = session["ns"], session["pod"]
        try:
            refused = _wait_running(kube, session)
            if refused:
                connection.sendall(refused.encode() + b"\r\n")
                return
            exec_stream = open_exec(namespace, pod, ["/bin/sh", "-c", session["command"]])
        except (ClusterError, *StreamError) as error:
            log.warning("session for %s/%s not started: %s", namespace, pod, error)
            connection.sendall(b"The dyno could not be reached.\r\n")
            return
        quiet = Quiet()
        reader = threading.Thread(
            target=_pump_stdin, args=(connection, exec_stream, quiet), daemon=True
        )
        reader.start()
        log.info("session for %s/%s", namespace, pod)
        try:
            while exec_stream.is_open() and not quiet.too_long():
                try:
                    exec_stream.update(timeout=1)
                except StreamError as error:
                    # The exec's connection ended without its close; what it buffered still
                    # goes to the user below.
                    log.info("exec stream of %s/%s ended: %r", namespace, pod, error)
                    break
                _forward(exec_stream, connection, quiet)
            _forward(exec_stream, connection, quiet)
        except OSError:
            pass  # the user went away: the dyno goes too
        finally:
            log.info("session for %s/%s ended", namespace, pod)
            exec_stream.close()
            with contextlib.suppress(OSError):
                # Tells the CLI it is over; it closes its side in turn, which ends the reader.
                connection.shutdown(socket.SHUT_WR)
            reader.join(timeout=CLOSE_SECONDS)
            if not session.get("inside"):
                try:
                    kube.delete("Pod", namespace, pod, grace_seconds=0)
                except ClusterError as error:
                    log.warning("could not delete one-off dyno %s: %s", pod, error)


def _shut(fd: int) -> None:
    """Shuts a connection by its descriptor: the TLS socket wrapping it is busy in a read in
    another thread, and the plain one it was made from is detached."""
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=fd)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.detach()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        self.context = context
        self.sessions = threading.BoundedSemaphore(SESSIONS_MAX)
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.sessions.acquire(blocking=False):
            log.warning(
                "%s sessions open already: a connection from %s closed",
                SESSIONS_MAX,
                client_address[0],
            )
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.sessions.release()  # its thread never started
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.sessions.release()


def serve(host: str, port: int, certfile: str, keyfile: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    with Server((host, port), context) as server:
        log.info("rendezvous on %s:%s", host, port)
        server.serve_forever()
