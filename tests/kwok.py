"""Test-side control of kwok, the kubelet stand-in: a pod's log file that a test appends to."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

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
