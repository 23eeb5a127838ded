"""The watcher: streams Deployment and Pod changes from the cluster into the records as they
happen, so a pod turning Ready shows within a moment, not at the next resync.

Each kind is listed, then watched from the list's resourceVersion; when the watch ends or the
version expires (410 Gone) it lists again, so no event is lost for longer than one reconnect.
"""

from __future__ import annotations

import logging
import random
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import IntegrityError, close_old_connections, connection

from apps.kube.adapter import KINDS, POD, Cluster, Expired, Kind
from apps.kube.manifests import APP_UID_LABEL, Manifest
from apps.platform.controller.observe import (
    forget_pods,
    observe,
    record_deployment,
    record_pod,
    settle_operations,
)
from apps.platform.models import App

log = logging.getLogger(__name__)
WATCH_SECONDS = 240
ALIVE = Path(tempfile.gettempdir()) / "paas-observer-alive"
MAX_BACKOFF = 30
STOP_SECONDS = 5


class Observer:
    def __init__(self, kube: Cluster) -> None:
        self.kube = kube
        self.stopping = threading.Event()
        # Apps by uid: every event names its app, and a query per event would slow the stream.
        self.apps: dict[str, App] = {}

    def run(self) -> None:
        threads = [
            threading.Thread(
                target=self._loop, args=(kind,), name=f"watch-{kind.plural}", daemon=True
            )
            for kind in (KINDS["Deployment"], POD)
        ]
        for thread in threads:
            thread.start()
        self.stopping.wait()
        # Each ends once its current watch does; a stop never waits for long on a quiet one.
        for thread in threads:
            thread.join(timeout=STOP_SECONDS)

    def stop(self) -> None:
        self.stopping.set()

    def _loop(self, kind: Kind) -> None:
        """Lists once, then watches from the last version seen (bookmarks keep it fresh while
        nothing of ours changes), and lists again only when that version has expired or an
        error may have cost an event. Errors back off up to MAX_BACKOFF seconds."""
        version, failures = "", 0
        while not self.stopping.is_set():
            ALIVE.touch()  # for the chart's liveness probe: a watch lasts WATCH_SECONDS at most
            try:
                if not version:
                    self.apps.clear()
                    version = self._relist(kind)
                for event in self._events(kind, version):
                    version = event["object"]["metadata"].get("resourceVersion") or version
                    self._handle(kind, event["type"], event["object"])
                failures = 0
            except Expired:
                version = ""
            except Exception:
                version, failures = "", failures + 1
                delay = min(MAX_BACKOFF, 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
                log.exception("watching %s failed; listing again in %.1f s", kind.plural, delay)
                self.stopping.wait(delay)
            finally:
                close_old_connections()
        connection.close()  # this thread's own, once it stops

    def _relist(self, kind: Kind) -> str:
        items, version = self.kube.list_with_version(kind.kind)
        by_app: dict[str, list[Manifest]] = defaultdict(list)
        for item in items:
            by_app[item["metadata"].get("labels", {}).get(APP_UID_LABEL, "")].append(item)
        for app in App.objects.all():
            found = by_app.get(str(app.uid), [])
            if kind is POD:
                observe(app, pods=found, kube=self.kube)
            else:
                observe(app, deployments=found, kube=self.kube)
        return version

    def _events(self, kind: Kind, version: str) -> Iterator[dict[str, Any]]:
        for event in self.kube.watch(kind.kind, version, seconds=WATCH_SECONDS):
            if self.stopping.is_set():
                return
            yield event

    def _handle(self, kind: Kind, event_type: str, obj: Manifest) -> None:
        if event_type == "BOOKMARK":
            return
        uid = obj["metadata"].get("labels", {}).get(APP_UID_LABEL, "")
        app = self.apps.get(uid) or App.objects.filter(uid=uid).first() if uid else None
        if app is None:
            return
        self.apps[uid] = app
        try:
            self._record(kind, event_type, obj, app)
        except IntegrityError:
            # The app was destroyed since it was remembered, and its objects report on while
            # their namespace goes: forget it and skip them, rather than fail the whole watch.
            self.apps.pop(uid, None)
            if App.objects.filter(pk=app.pk).exists():
                raise

    def _record(self, kind: Kind, event_type: str, obj: Manifest, app: App) -> None:
        deleted = event_type == "DELETED"
        if kind is not POD:
            record_deployment(app, obj, deleted=deleted)
            settle_operations(app, self.kube)  # a rollout ends with its Deployment's status
        elif deleted:
            forget_pods(app, uid=obj["metadata"]["uid"])
        elif record_pod(app, obj):
            settle_operations(app, self.kube)  # a failing dyno fails its operation


def observer() -> Observer:
    from apps.platform.installation import cluster

    return Observer(cluster())
