"""A thin adapter over the Kubernetes REST API: apply, delete and list owned objects as dicts.

Objects stay plain JSON (no client model classes): manifests are dicts, the comparison with live
objects works on dicts, and parsing hundreds of Deployments into models would cost more than the
requests themselves. Every request is counted, so tests and benchmarks can prove how many reads
and writes a reconcile made.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from django.conf import settings
from kubernetes import client

from apps.kube.manifests import MANAGED_BY, MANAGER, Manifest

FIELD_MANAGER = "paas"
# Statuses worth retrying: conflicts, throttling, and a server that is starting or overloaded.
TEMPORARY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Kind:
    kind: str
    api_version: str
    plural: str
    namespaced: bool = True

    def collection(self, namespace: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        scope = f"/namespaces/{namespace}" if namespace and self.namespaced else ""
        return f"{base}{scope}/{self.plural}"

    def item(self, namespace: str | None, name: str) -> str:
        return f"{self.collection(namespace)}/{name}"


KINDS = {
    k.kind: k
    for k in (
        Kind("Namespace", "v1", "namespaces", namespaced=False),
        Kind("Secret", "v1", "secrets"),
        Kind("Service", "v1", "services"),
        Kind("Deployment", "apps/v1", "deployments"),
        Kind("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
    )
}
POD = Kind("Pod", "v1", "pods")


class ClusterError(Exception):
    """A request the cluster did not carry out, with a message a user can read."""


class TemporaryError(ClusterError):
    """Unreachable, overloaded or conflicting: the same request may succeed later."""


class PermanentError(ClusterError):
    """Rejected as invalid or forbidden: retrying the same request cannot help."""


def _error(exc: Exception, what: str) -> ClusterError:
    if isinstance(exc, client.ApiException):
        message = exc.reason or "error"
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(exc.body or "{}").get("message") or message
        text = f"{what}: {message} (HTTP {exc.status})"
        # A namespace being deleted refuses new objects until it is gone: wait, do not give up.
        if exc.status in TEMPORARY_STATUSES or "being terminated" in message:
            return TemporaryError(text)
        return PermanentError(text)
    return TemporaryError(f"{what}: the cluster is unreachable ({type(exc).__name__})")


class Cluster:
    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.requests: Counter[tuple[str, str]] = Counter()
        self._counting = threading.Lock()

    def _send(
        self, method: str, path: str, *, query: list[tuple[str, Any]] | None = None,
        body: Any = None, content_type: str = "application/json",
        timeout: float | tuple[float, float | None] | None = None, accept: str = "application/json",
    ) -> Any:  # fmt: skip
        """The raw response (read() for the body, `.response` for urllib3's stream), or an
        ApiException; typed Any because the client's read() has no annotations."""
        request = self.api.param_serialize(
            method, path, query_params=query or [], body=body, auth_settings=["BearerToken"],
            header_params={"Accept": accept, "Content-Type": content_type},
        )  # fmt: skip
        response: Any = self.api.call_api(
            *request, _request_timeout=timeout or settings.KUBE_REQUEST_TIMEOUT
        )
        if not 200 <= response.status <= 299:
            raise client.ApiException(
                status=response.status, reason=response.reason, body=response.read().decode()
            )
        return response

    def _call(
        self, verb: str, kind: Kind, path: str, *, query: list[tuple[str, Any]] | None = None,
        body: Any = None, content_type: str = "application/json",
    ) -> Any:  # fmt: skip
        with self._counting:
            self.requests[(verb, kind.kind)] += 1
        method = {"apply": "PATCH", "delete": "DELETE", "list": "GET"}[verb]
        data = self._send(method, path, query=query, body=body, content_type=content_type).read()
        return json.loads(data) if data else None

    def _request(self, verb: str, kind: Kind, path: str, what: str, **kwargs: Any) -> Any:
        try:
            return self._call(verb, kind, path, **kwargs)
        except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error(exc, what) from exc

    def apply(self, manifest: Manifest, *, manager: str = FIELD_MANAGER) -> Manifest:
        """Server-side apply with one fixed field manager; force takes back fields someone else
        changed by hand, which is what repairing drift means."""
        kind = POD if manifest["kind"] == POD.kind else KINDS[manifest["kind"]]
        meta = manifest["metadata"]
        result: Manifest = self._request(
            "apply", kind, kind.item(meta.get("namespace"), meta["name"]),
            f"apply {kind.kind} {meta['name']}",
            query=[("fieldManager", manager), ("force", "true")],
            body=manifest, content_type="application/apply-patch+yaml",
        )  # fmt: skip
        return result

    def delete(self, kind_name: str, namespace: str | None, name: str) -> None:
        kind = POD if kind_name == POD.kind else KINDS[kind_name]
        try:
            self._call(
                "delete", kind, kind.item(namespace, name),
                body={"propagationPolicy": "Background"},
            )  # fmt: skip
        except client.ApiException as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise _error(exc, f"delete {kind.kind} {name}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error(exc, f"delete {kind.kind} {name}") from exc

    def list_owned(
        self, kind_name: str, *, namespace: str | None = None, selector: str = ""
    ) -> list[Manifest]:
        """One LIST request, across all namespaces when none is given, of owned objects only."""
        return self.list_with_version(kind_name, namespace=namespace, selector=selector)[0]

    def list_with_version(
        self, kind_name: str, *, namespace: str | None = None, selector: str = ""
    ) -> tuple[list[Manifest], str]:
        """The items and the list's resourceVersion, the point a watch continues from."""
        kind = POD if kind_name == POD.kind else KINDS[kind_name]
        result = self._request(
            "list", kind, kind.collection(namespace), f"list {kind.plural}",
            query=[("labelSelector", _owned(selector))],
        )  # fmt: skip
        items: list[Manifest] = result["items"]
        for item in items:  # a LIST leaves kind and apiVersion out of each item
            item["kind"], item["apiVersion"] = kind.kind, kind.api_version
        return items, str(result["metadata"]["resourceVersion"])

    def watch(self, kind_name: str, version: str, *, seconds: int = 240) -> Iterator[Manifest]:
        """Events after version, as {type, object}, until the server ends the watch or the
        version has expired (the caller then lists again)."""
        kind = POD if kind_name == POD.kind else KINDS[kind_name]
        self.requests[("watch", kind.kind)] += 1
        try:
            response = self._send(
                "GET", kind.collection(),
                query=[("labelSelector", _owned("")), ("watch", "true"),
                       ("resourceVersion", version), ("timeoutSeconds", seconds),
                       ("allowWatchBookmarks", "true")],
                timeout=(10, seconds + 30),
            ).response  # fmt: skip
        except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error(exc, f"watch {kind.plural}") from exc
        buffer = b""
        try:
            # read_chunked hands over each event as the server flushes it; stream() would wait
            # to fill a 64 KiB buffer first.
            for chunk in response.read_chunked(decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event["type"] == "ERROR":
                        return  # typically 410 Gone
                    yield event
        finally:
            response.release_conn()

    def pod_log(
        self, namespace: str, pod: str, *, tail_lines: int | None = None,
        since_time: str | None = None, follow: bool = False, stop: threading.Event | None = None,
    ) -> Iterator[str]:  # fmt: skip
        """The pod's log lines, each starting with its RFC 3339 timestamp. Following, lines are
        handed over as the kubelet flushes them, until `stop` is set or the pod goes away."""
        with self._counting:
            self.requests[("log", POD.kind)] += 1
        query: list[tuple[str, Any]] = [("timestamps", "true")]
        query += [("tailLines", tail_lines)] if tail_lines is not None else []
        query += [("sinceTime", since_time)] if since_time else []
        query += [("follow", "true")] if follow else []
        try:
            response = self._send(
                "GET", f"{POD.item(namespace, pod)}/log", query=query, accept="text/plain, */*",
                timeout=(5, None) if follow else None,
            ).response  # fmt: skip
        except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error(exc, f"logs of {pod}") from exc
        if stop is not None:
            # A blocked read wakes only when the socket is shut: the caller's stop does that.
            threading.Thread(target=_shut_when, args=(stop, response), daemon=True).start()
        buffer = b""
        try:
            chunks = response.read_chunked() if response.chunked else response.stream(65536)
            for chunk in chunks:
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    yield line.decode(errors="replace")
                if stop is not None and stop.is_set():
                    return
            if buffer:
                yield buffer.decode(errors="replace")
        except (urllib3.exceptions.HTTPError, OSError, ValueError):
            if stop is None or not stop.is_set():
                raise
        finally:
            response.release_conn()


def _shut_when(stop: threading.Event, response: Any) -> None:
    stop.wait()
    with contextlib.suppress(Exception):
        response.shutdown()


def _owned(selector: str) -> str:
    return f"{MANAGED_BY}={MANAGER}" + (f",{selector}" if selector else "")


def cluster() -> Cluster:
    from apps.kube.client import api_client

    return Cluster(api_client())
