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

import orjson
import urllib3
from django.conf import settings
from kubernetes import client

from apps.kube.manifests import APP_UID_LABEL, INSTALLATION_LABEL, MANAGED_BY, MANAGER, Manifest

FIELD_MANAGER = "paas"
# Statuses worth retrying: conflicts, throttling, and a server that is starting or overloaded.
TEMPORARY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})
# Lists come in pages of this many: a cluster of thousands of apps never arrives as one response.
PAGE_SIZE = 500
# A log line is cut at 10 KiB: room for any line a person reads, and a bound on the buffer.
LOG_LINE_MAX = 10_240


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
        Kind("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings"),
        Kind("Secret", "v1", "secrets"),
        Kind("Service", "v1", "services"),
        Kind("Deployment", "apps/v1", "deployments"),
        Kind("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
    )
}
POD = Kind("Pod", "v1", "pods")
EVENT = Kind("Event", "v1", "events")


class ClusterError(Exception):
    """A request the cluster did not carry out, with a message a user can read."""


class TemporaryError(ClusterError):
    """Unreachable, overloaded or conflicting: the same request may succeed later."""


class PermanentError(ClusterError):
    """Rejected as invalid or forbidden: retrying the same request cannot help."""


class Expired(TemporaryError):
    """A watch's resourceVersion or a list's continue token is too old: list again."""


class NotOurs(PermanentError):
    """The object exists but carries no proof that this installation made it."""


def _error(exc: Exception, what: str) -> ClusterError:
    if isinstance(exc, client.ApiException):
        message = exc.reason or "error"
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(exc.body or "{}").get("message") or message
        text = f"{what}: {message} (HTTP {exc.status})"
        if exc.status == 410:
            return Expired(text)
        # A namespace being deleted refuses new objects until it is gone: wait, do not give up.
        if exc.status in TEMPORARY_STATUSES or "being terminated" in message:
            return TemporaryError(text)
        return PermanentError(text)
    return TemporaryError(f"{what}: the cluster is unreachable ({type(exc).__name__})")


class Cluster:
    """Sees only the objects of one installation: every list and watch is filtered by its label,
    and a namespace is deleted only when its labels prove it is this installation's."""

    def __init__(self, api: client.ApiClient, *, installation: str) -> None:
        if not installation:
            raise ValueError("a Cluster needs the installation whose objects it manages")
        self.api = api
        self.installation = installation
        self.requests: Counter[tuple[str, str]] = Counter()
        self._counting = threading.Lock()

    def _owned(self, selector: str) -> str:
        mine = f"{MANAGED_BY}={MANAGER},{INSTALLATION_LABEL}={self.installation}"
        return mine + (f",{selector}" if selector else "")

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | tuple[float, float | None] | None = None,
        accept: str = "application/json",
    ) -> Any:
        """The raw response (read() for the body, `.response` for urllib3's stream), or an
        ApiException; typed Any because the client's read() has no annotations."""
        request = self.api.param_serialize(
            method,
            path,
            query_params=query or [],
            body=body,
            auth_settings=["BearerToken"],
            header_params={"Accept": accept, "Content-Type": content_type},
        )
        response: Any = self.api.call_api(
            *request, _request_timeout=timeout or settings.KUBE_REQUEST_TIMEOUT
        )
        if not 200 <= response.status <= 299:
            raise client.ApiException(
                status=response.status, reason=response.reason, body=response.read().decode()
            )
        return response

    def _call(
        self,
        verb: str,
        kind: Kind,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        with self._counting:
            self.requests[(verb, kind.kind)] += 1
        method = {
            "apply": "PATCH",
            "replace": "PUT",
            "delete": "DELETE",
            "list": "GET",
            "get": "GET",
        }[verb]
        data = self._send(method, path, query=query, body=body, content_type=content_type).read()
        # orjson: a list of thousands of objects parses in a fraction of the standard module's time.
        return orjson.loads(data) if data else None

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
            "apply",
            kind,
            kind.item(meta.get("namespace"), meta["name"]),
            f"apply {kind.kind} {meta['name']}",
            query=[("fieldManager", manager), ("force", "true")],
            body=manifest,
            content_type="application/apply-patch+yaml",
        )
        return result

    def replace(self, manifest: Manifest, resource_version: str) -> Manifest:
        """Replaces the whole object as it was read: what someone else added goes too, which a
        server-side apply (it leaves other managers' fields alone) would keep."""
        kind = KINDS[manifest["kind"]]
        meta = manifest["metadata"]
        body = manifest | {"metadata": meta | {"resourceVersion": resource_version}}
        result: Manifest = self._request(
            "replace",
            kind,
            kind.item(meta.get("namespace"), meta["name"]),
            f"replace {kind.kind} {meta['name']}",
            query=[("fieldManager", FIELD_MANAGER)],
            body=body,
        )
        return result

    def delete(
        self,
        kind_name: str,
        namespace: str | None,
        name: str,
        *,
        uid: str | None = None,
        grace_seconds: int | None = None,
    ) -> None:
        """Deletes the object; with uid, only that very object (a precondition the API server
        checks), never one recreated under the same name since it was read."""
        kind = POD if kind_name == POD.kind else KINDS[kind_name]
        body: Manifest = {"propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        if grace_seconds is not None:
            body["gracePeriodSeconds"] = grace_seconds
        try:
            self._call("delete", kind, kind.item(namespace, name), body=body)
        except client.ApiException as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise _error(exc, f"delete {kind.kind} {name}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error(exc, f"delete {kind.kind} {name}") from exc

    def read(self, kind_name: str, namespace: str | None, name: str) -> Manifest | None:
        """One object, owned or not, or None when there is none."""
        kind = POD if kind_name == POD.kind else KINDS[kind_name]
        try:
            found: Manifest = self._call("get", kind, kind.item(namespace, name))
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise _error(exc, f"read {kind.kind} {name}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error(exc, f"read {kind.kind} {name}") from exc
        return found

    def probe_failure(self, namespace: str, pod: str) -> str:
        """The kubelet's latest report of a failing probe of the pod (its Unhealthy event), such
        as "Readiness probe failed: HTTP probe failed with statuscode: 503", or ''."""
        query = [("fieldSelector", f"involvedObject.name={pod},reason=Unhealthy")]
        found = self._request(
            "list", EVENT, EVENT.collection(namespace), "list events", query=query
        )["items"]
        found.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return str(found[-1].get("message", "")) if found else ""

    def owns(self, obj: Manifest, app_uid: str | None = None) -> bool:
        """Whether the object's labels prove it this installation's (and that app's)."""
        found = obj["metadata"].get("labels") or {}
        return (
            found.get(MANAGED_BY) == MANAGER
            and found.get(INSTALLATION_LABEL) == self.installation
            and (app_uid is None or found.get(APP_UID_LABEL) == app_uid)
        )

    def claim_namespace(self, name: str, app_uid: str) -> None:
        """Returns when the namespace is free or this app's; a forced apply over any other would
        adopt it, and destroying the app would then delete whatever runs there. One made for
        this very app before installations were labelled (its app uid is proof enough) is taken
        back. Raises TemporaryError while a destroyed app's namespace is on its way out, NotOurs
        for one of someone else or of an orphan."""
        found = self.read("Namespace", None, name)
        if found is None or self.owns(found, app_uid):
            return
        labels = found["metadata"].get("labels") or {}
        if INSTALLATION_LABEL not in labels and labels.get(APP_UID_LABEL) == app_uid:
            return
        if not self.owns(found):
            raise NotOurs(
                f"The namespace {name} already exists on the cluster and was not made by this "
                "platform; it is left alone. Choose another name, or remove that namespace."
            )
        if found["metadata"].get("deletionTimestamp"):
            raise TemporaryError(f"waiting for the namespace {name} of a destroyed app to go")
        raise NotOurs(
            f"The namespace {name} holds an app of this platform that is in none of its records "
            "(an orphan, see the fleet page): adopt or delete it, or choose another name."
        )

    def delete_namespace(self, name: str, app_uid: str) -> bool:
        """Deletes an app's namespace only on proof: it carries this installation's label and
        that app's uid, and it is the very namespace read (uid precondition). Returns whether a
        deletion was asked for; raises NotOurs for a namespace of someone else."""
        found = self.read("Namespace", None, name)
        if found is None or found["metadata"].get("deletionTimestamp"):
            return False
        if not self.owns(found, app_uid):
            raise NotOurs(f"namespace {name} does not belong to this installation's app")
        self.delete("Namespace", None, name, uid=found["metadata"]["uid"])
        return True

    def list_owned(
        self, kind_name: str, *, namespace: str | None = None, selector: str = ""
    ) -> list[Manifest]:
        """One LIST request, across all namespaces when none is given, of owned objects only."""
        return self.list_with_version(kind_name, namespace=namespace, selector=selector)[0]

    def list_with_version(
        self, kind_name: str, *, namespace: str | None = None, selector: str = ""
    ) -> tuple[list[Manifest], str]:
        """The items and the list's resourceVersion, the point a watch continues from. Read in
        pages, all from one snapshot; a snapshot that expires midway is read again."""
        kind = POD if kind_name == POD.kind else KINDS[kind_name]
        for _ in range(2):
            with contextlib.suppress(Expired):
                return self._list_pages(kind, namespace, selector)
        return self._list_pages(kind, namespace, selector)

    def _list_pages(
        self, kind: Kind, namespace: str | None, selector: str
    ) -> tuple[list[Manifest], str]:
        items: list[Manifest] = []
        token = ""
        while True:
            query: list[tuple[str, Any]] = [
                ("labelSelector", self._owned(selector)),
                ("limit", PAGE_SIZE),
            ]
            query += [("continue", token)] if token else []
            result = self._request(
                "list", kind, kind.collection(namespace), f"list {kind.plural}", query=query
            )
            for item in result["items"]:  # a LIST leaves kind and apiVersion out of each item
                item["kind"], item["apiVersion"] = kind.kind, kind.api_version
            items += result["items"]
            token = result["metadata"].get("continue") or ""
            if not token:
                return items, str(result["metadata"]["resourceVersion"])

    def watch(self, kind_name: str, version: str, *, seconds: int = 240) -> Iterator[Manifest]:
        """Events after version, as {type, object}, bookmarks among them, until the server ends
        the watch (the caller watches again from the last version it saw) or raises Expired
        (the caller lists again)."""
        kind = POD if kind_name == POD.kind else KINDS[kind_name]
        self.requests[("watch", kind.kind)] += 1
        try:
            response = self._send(
                "GET",
                kind.collection(),
                query=[
                    ("labelSelector", self._owned("")),
                    ("watch", "true"),
                    ("resourceVersion", version),
                    ("timeoutSeconds", seconds),
                    ("allowWatchBookmarks", "true"),
                ],
                timeout=(10, seconds + 30),
            ).response
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
                    event = orjson.loads(line)
                    if event["type"] == "ERROR":
                        status = event.get("object") or {}
                        message = f"watch {kind.plural}: {status.get('message', 'error')}"
                        raise (
                            Expired(message)
                            if status.get("code") == 410
                            else TemporaryError(message)
                        )
                    yield event
        finally:
            response.release_conn()

    def pod_log(
        self,
        namespace: str,
        pod: str,
        *,
        tail_lines: int | None = None,
        since_time: str | None = None,
        limit_bytes: int | None = None,
        follow: bool = False,
        stop: threading.Event | None = None,
    ) -> Iterator[str]:
        """The pod's log lines, each starting with its RFC 3339 timestamp. Following, lines are
        handed over as the kubelet flushes them, until `stop` is set or the pod goes away.
        A line longer than LOG_LINE_MAX bytes is cut there: a dyno writing without a newline
        cannot grow the buffer without end."""
        with self._counting:
            self.requests[("log", POD.kind)] += 1
        query: list[tuple[str, Any]] = [("timestamps", "true")]
        query += [("tailLines", tail_lines)] if tail_lines is not None else []
        query += [("sinceTime", since_time)] if since_time else []
        query += [("limitBytes", limit_bytes)] if limit_bytes is not None else []
        query += [("follow", "true")] if follow else []
        try:
            response = self._send(
                "GET",
                f"{POD.item(namespace, pod)}/log",
                query=query,
                accept="text/plain, */*",
                timeout=(5, None) if follow else None,
            ).response
        except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error(exc, f"logs of {pod}") from exc
        if stop is not None:
            # A blocked read wakes only when the socket is shut: the caller's stop does that.
            threading.Thread(target=_shut_when, args=(stop, response), daemon=True).start()
        buffer, cut = b"", False  # cut: the rest of an over-long line is being dropped
        try:
            chunks = response.read_chunked() if response.chunked else response.stream(65536)
            for chunk in chunks:
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not cut:
                        yield line[:LOG_LINE_MAX].decode(errors="replace")
                    cut = False
                if len(buffer) > LOG_LINE_MAX:
                    if not cut:
                        yield buffer[:LOG_LINE_MAX].decode(errors="replace")
                    buffer, cut = b"", True
                if stop is not None and stop.is_set():
                    return
            if buffer and not cut:
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
