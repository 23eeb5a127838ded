"""An exec in a pod with stdin, stdout and stderr as one byte stream: what `heroku run` needs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from kubernetes import client
from kubernetes.stream import stream
from websocket import WebSocketException

from apps.kube.client import api_client

# Errors an exec's connection ends with when the pod or the network goes away.
StreamError = (OSError, WebSocketException)


def open_exec(namespace: str, pod: str, command: list[str]) -> Any:
    """The exec's stream (kubernetes.stream.ws_client.WSClient): `write_stdin`, `update`,
    `read_stdout`, `read_stderr`, `is_open`, `close`. Bytes through, so a character split
    between two frames stays whole."""
    core = client.CoreV1Api(api_client())
    return stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=command,
        stdin=True,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
        binary=True,
        _request_timeout=settings.KUBE_REQUEST_TIMEOUT,
    )
