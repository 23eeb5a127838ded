"""The watcher lists once and then only watches: when a watch ends it continues from the last
version it saw (bookmarks keep that fresh) instead of listing everything again."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client

from apps.platform.controller import watch as watcher
from apps.platform.controller.reconcile import reconcile_app
from apps.platform.controller.watch import Observer
from apps.platform.models import App, Dyno
from apps.platform.services import ProcessChange, formation_update
from tests.helpers import wait_until
from tests.platform.conftest import deployed

# Each test runs an Observer of its own, and the watcher process of other tests must not write too.
pytestmark = [
    pytest.mark.cluster,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("observer_stopped"),
]


def test_a_watch_that_ends_is_resumed_without_listing_again(kube, monkeypatch):
    monkeypatch.setattr(watcher, "WATCH_SECONDS", 1)  # the server ends each watch after 1 s
    observing = Observer(kube)
    thread = threading.Thread(target=observing.run, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: all(kube.requests[("watch", kind)] >= 4 for kind in ("Deployment", "Pod")),
            timeout=30,
            what="four watches of each kind",
        )
    finally:
        observing.stop()
        thread.join(timeout=10)
    # Stopped means stopped: no watch goes on touching the database after the test.
    assert not [t.name for t in threading.enumerate() if t.name.startswith("watch-")]

    assert kube.requests[("list", "Deployment")] == 1
    assert kube.requests[("list", "Pod")] == 1


def test_objects_of_an_app_gone_from_the_records_do_not_stop_the_watch(
    alice, team, kube, kube_api, monkeypatch
):
    """A destroyed app's pods go on reporting while its namespace is deleted; its row is gone,
    and the watcher, which remembers the app, must skip them rather than fail and list again."""
    monkeypatch.setattr(watcher, "WATCH_SECONDS", 1)  # its threads end soon after stop()
    gone, kept = (deployed(alice, team, prefix) for prefix in ("gone", "kept"))
    for app in (gone, kept):
        reconcile_app(app.pk, kube=kube)
    observing = Observer(kube)
    thread = threading.Thread(target=observing.run, daemon=True)
    thread.start()
    try:
        for app in (gone, kept):
            wait_until(
                lambda a=app: Dyno.objects.filter(app=a, state="up").count() == 3,
                timeout=60,
                what=f"{app.name}'s dynos up",
            )
        App.objects.filter(pk=gone.pk).delete()  # the watcher still knows it
        # Its pods and Deployment change on: a hand-made scale, whose new pod reports first.
        client.AppsV1Api(kube_api).patch_namespaced_deployment_scale(
            "web", gone.namespace, {"spec": {"replicas": 3}}
        )
        wait_until(
            lambda: len(client.CoreV1Api(kube_api).list_namespaced_pod(gone.namespace).items) == 4,
            timeout=30,
            what="the gone app's new pod",
        )
        formation_update(actor=alice, app=kept, changes=[ProcessChange("web", quantity=3)])
        reconcile_app(kept.pk, kube=kube)
        wait_until(
            lambda: Dyno.objects.filter(app=kept, process_type="web", state="up").count() == 3,
            timeout=60,
            what="the kept app's third web dyno",
        )
    finally:
        observing.stop()
        thread.join(timeout=10)
    # Stopped means stopped: no watch goes on touching the database after the test.
    assert not [t.name for t in threading.enumerate() if t.name.startswith("watch-")]
    assert kube.requests[("list", "Pod")] == 1, "the pod watch failed and listed again"
    assert kube.requests[("list", "Deployment")] == 1
