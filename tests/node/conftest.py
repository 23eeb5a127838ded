"""Tests on the local cluster's real node (scripts/node): real containers of the sample app
(examples/sample), pulled from the registry beside the node, reconciled by a worker placing app
pods there as bin/run does."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.api.tokens import token_create
from apps.kube.adapter import Cluster
from apps.platform.models import App
from apps.platform.procfile import parse_procfile
from tests.api.conftest import heroku, rendezvous, token  # noqa: F401 - fixtures, as tests/api has them
from tests.conftest import ROOT, session_worker_paused
from tests.helpers import Api

REGISTRY = os.environ["PAAS_REGISTRY"]
PLACEMENT = {
    "APP_NODE_SELECTOR": "paas.dev/node=real",
    "APP_TOLERATIONS": "paas.dev/node=real:NoSchedule",
    # A rollout stuck this long fails: short, so that a test sees it happen.
    "ROLLOUT_TIMEOUT_SECONDS": "30",
}
# A first pull from the local registry and a start take a few seconds; leave room for a slow CI.
START = 120
SAMPLE_COMMANDS = parse_procfile((ROOT / "examples/sample/Procfile").read_text())


def sample(tag: str) -> str:
    """The sample app's image as scripts/images pushed it: v1 and v2 differ by a file only."""
    return f"{REGISTRY}/paas/sample:{tag}"


@pytest.fixture
def node_worker(workers: Any, observer_process: Any) -> Iterator[None]:
    """A worker that puts app pods on the real node, and the watcher; the session's worker, which
    places them on kwok's nodes, takes no task meanwhile."""
    with session_worker_paused():
        workers("celery-worker-node.log", env=PLACEMENT)
        yield


@pytest.fixture
def api(client: Client, bob: User) -> Api:
    return Api(client, token_create(user=bob, name="test")[1])


def deploy(
    api: Api, name: str, tag: str = "", config: dict[str, str] | None = None, *, image: str = ""
) -> App:
    """Creates the app, sets its config and releases the sample image (that tag of it, or the
    same app under another name), all through the API."""
    assert api("POST", "/teams/apps", {"name": name, "team": "acme"}).status_code == 201
    if config:
        assert api("PATCH", f"/apps/{name}/config-vars", config).status_code == 200
    release = {"oci_image": image or sample(tag), "commands": SAMPLE_COMMANDS}
    released = api("POST", f"/apps/{name}/releases", release)
    assert released.status_code == 201, released.json_body
    return App.objects.get(name=name)


def ready_pods(kube: Cluster, app: App, process: str = "web") -> list[dict[str, Any]]:
    pods = kube.list_owned(
        "Pod", namespace=app.namespace, selector=f"paas.dev/process-type={process}"
    )
    return [
        pod
        for pod in pods
        if not pod["metadata"].get("deletionTimestamp")
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in pod.get("status", {}).get("conditions", [])
        )
    ]


def all_answer(kube: Cluster, app: App, **expected: str) -> list[Any]:
    """Every Ready web dyno answers, each with the expected values (and there is one at least)."""
    found = answers(kube, app)
    ok = found and all(a is not None and all(a[k] == v for k, v in expected.items()) for a in found)
    return found if ok else []


def get(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return dict(json.load(response))
    except OSError:
        return None


def answers(kube: Cluster, app: App) -> list[dict[str, Any] | None]:
    """What each Ready web dyno answers on its pod IP, from this machine."""
    return [get(f"http://{pod['status']['podIP']}:5000/") for pod in ready_pods(kube, app)]
