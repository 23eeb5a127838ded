"""Test-side control of kwok, the kubelet stand-in: a pod's log file that a test appends to."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client


def attach_log_file(api: client.ApiClient, namespace: str, pod: str, path: Path) -> None:
    """Makes kwok serve `path` as the logs of every container of `pod`, followed as it grows."""
    path.touch()
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "kwok.x-k8s.io",
        "v1alpha1",
        namespace,
        "logs",
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Logs",
            "metadata": {"name": pod, "namespace": namespace},
            "spec": {"logs": [{"containers": [], "logsFile": str(path), "follow": True}]},
        },
    )


def append_log_line(path: Path, message: str, stream: str = "stdout") -> None:
    """Appends one line in the CRI log format kwok reads: `<RFC3339Nano> <stream> F <message>`."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with path.open("a") as log:
        log.write(f"{stamp} {stream} F {message}\n")


class FollowedLog:
    """`kubectl logs -f` for tests: chunks arrive on a queue; stop() ends it from any thread."""

    def __init__(self, api: client.ApiClient, namespace: str, pod: str, container: str) -> None:
        self.chunks: queue.Queue[str] = queue.Queue()
        # With _preload_content=False the client returns the raw urllib3 response, not a str.
        self._response: Any = client.CoreV1Api(api).read_namespaced_pod_log(
            pod, namespace, container=container, follow=True, _preload_content=False
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        # read_chunked yields each chunk as it arrives; stream() would wait to fill 64 KiB.
        with contextlib.suppress(Exception):  # stop() pulls the socket from under it
            for chunk in self._response.read_chunked():
                self.chunks.put(chunk.decode())

    def wait_for(self, text: str, timeout: float) -> bool:
        seen = ""
        deadline = time.monotonic() + timeout
        while text not in seen:
            try:
                seen += self.chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
        return True

    def stop(self) -> None:
        # Closing the response would wait for the reader thread's lock: end the socket instead.
        with contextlib.suppress(OSError):
            self._response.connection.sock.shutdown(socket.SHUT_RDWR)
        self._response.release_conn()


def _apiserver_pid_file() -> Path:
    return (
        Path(os.environ["PAAS_STATE_DIR"])
        / "kwok/clusters"
        / (f"paas-{os.environ.get('PAAS_PROFILE', 'test')}")
        / "pids/kube-apiserver.pid"
    )


@contextlib.contextmanager
def apiserver_paused() -> Iterator[None]:
    """Freezes the local cluster's kube-apiserver (SIGSTOP) for the duration: connections are
    accepted by the kernel and then wait, so every call in flight hangs at a known point until
    its client's timeout, instead of failing at once as with a stopped server."""
    pid = int(_apiserver_pid_file().read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def apiserver_stopped() -> Iterator[None]:
    """Stops the local cluster's kube-apiserver for the duration, then starts it again with the
    same command line and working folder, and waits until it answers."""
    pid_file = _apiserver_pid_file()
    pid = int(pid_file.read_text())
    proc = Path(f"/proc/{pid}")
    argv = [a.decode() for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
    cwd = os.readlink(proc / "cwd")
    port = next(int(a.split("=", 1)[1]) for a in argv if a.startswith("--secure-port="))
    os.kill(pid, signal.SIGTERM)
    _wait_port(port, open_=False)
    try:
        yield
    finally:
        with open(Path(cwd) / "kube-apiserver.restarted.log", "ab") as log:
            process = subprocess.Popen(
                argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        # kwokctl stops the cluster by these pid files: keep them true.
        pid_file.write_text(str(process.pid))
        _wait_port(port, open_=True)


def _wait_port(port: int, *, open_: bool, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if (sock.connect_ex(("127.0.0.1", port)) == 0) == open_:
                return
        time.sleep(0.1)
    raise AssertionError(f"port {port} still {'closed' if open_ else 'open'} after {timeout}s")
