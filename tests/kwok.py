"""Test-side control of kwok, the kubelet stand-in: a pod's log file that a test appends to."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
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
