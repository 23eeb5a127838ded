"""The sample app in real containers, deployed through the API: its dynos answer with their
release from this machine and, by the Service's name, from inside the cluster; a config change
rolls them and a rollback brings the old value back; a dyno that cannot start says why."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.stream import stream

from apps.platform.models import App, Dyno, Operation
from apps.platform.services import process_settings_update
from tests.helpers import Api, wait_until
from tests.node.conftest import START, all_answer, deploy, get, ready_pods, sample

pytestmark = pytest.mark.django_db(transaction=True)
PENDING = ("queued", "applying", "rolling_out")


def name() -> str:
    return f"real-{uuid.uuid4().hex[:8]}"


def release_id(api: Api, app: App, version: int) -> str:
    return str(api("GET", f"/apps/{app.name}/releases/{version}").json_body["id"])


def exec_in(kube_api: client.ApiClient, pod: dict[str, Any], command: list[str]) -> str:
    return str(
        stream(
            client.CoreV1Api(kube_api).connect_get_namespaced_pod_exec,
            pod["metadata"]["name"],
            pod["metadata"]["namespace"],
            command=command,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
        )
    )


def test_it_answers_from_this_machine_and_by_service_name_then_rolls_and_rolls_back(
    node_worker, api, kube, kube_api
):
    app = deploy(api, name(), "v1")
    first = app.releases.latest("version").version
    [answer] = wait_until(
        lambda: all_answer(kube, app, release=f"v{first}"), timeout=START, what="the web dyno"
    )
    assert answer["app"] == app.name
    assert answer["greeting"] == "hello"
    assert answer["process"] == "web"
    assert answer["image"] == "v1"
    [pod] = ready_pods(kube, app)
    assert pod["spec"]["nodeName"] == kube_node_name(kube_api)

    # From inside the cluster: a dyno calls its app's Service by name, through CoreDNS and
    # kube-proxy, once the Service's endpoints list the Ready dyno (they follow within moments).
    service = f"http://web.{app.namespace}.svc.cluster.local/"
    script = (
        "import urllib.request as u\n"
        f"try: print(u.urlopen({service!r}, timeout=5).read().decode())\n"
        "except OSError as e: print('{}')"
    )
    inside = wait_until(
        lambda: json.loads(exec_in(kube_api, pod, ["python3", "-c", script])),
        timeout=30,
        what="the Service to answer inside the cluster",
    )
    assert inside["release"] == f"v{first}"
    assert inside["app"] == app.name

    assert api("PATCH", f"/apps/{app.name}/config-vars", {"GREETING": "bonjour"}).status_code == 200
    second = app.releases.latest("version").version
    wait_until(
        lambda: all_answer(kube, app, release=f"v{second}", greeting="bonjour"),
        timeout=START,
        what="the dynos of the new config",
    )

    rolled = api("POST", f"/apps/{app.name}/releases", {"release": release_id(api, app, first)})
    assert rolled.status_code == 201
    wait_until(
        lambda: all_answer(kube, app, greeting="hello", image="v1"),
        timeout=START,
        what="the rolled-back dynos",
    )


def kube_node_name(kube_api: client.ApiClient) -> str:
    found = client.CoreV1Api(kube_api).list_node(label_selector="paas.dev/node=real")
    return str(found.to_dict()["items"][0]["metadata"]["name"])


def test_a_dyno_that_exits_on_start_is_reported_crashing_with_its_last_lines(node_worker, api):
    app = deploy(api, name(), "v1", config={"SAMPLE_CRASH_ON_START": "1"})
    dyno = wait_until(
        lambda: (
            Dyno.objects.filter(app=app, process_type="web", state="crashed")
            .exclude(message="")
            .first()
        ),
        timeout=START,
        what="the web dyno reported crashing",
    )
    assert dyno.reason == "The dyno crashes on start" or dyno.reason.startswith("Exited with")
    assert "crashing on start as SAMPLE_CRASH_ON_START asks" in dyno.message


def test_a_tag_the_registry_does_not_have_is_reported_as_an_image_that_cannot_be_pulled(
    node_worker, api
):
    app = deploy(api, name(), "no-such-tag")
    dyno = wait_until(
        lambda: Dyno.objects.filter(app=app, process_type="web", state="crashed").first(),
        timeout=START,
        what="the web dyno reported unpullable",
    )
    assert dyno.reason == "The image cannot be pulled"
    assert sample("no-such-tag") in dyno.message


def test_a_release_failing_its_health_check_never_replaces_the_dynos_serving_and_says_why(
    node_worker, api, kube, bob
):
    app = deploy(api, name(), "v1")
    process_settings_update(
        actor=bob, app=app, process="web", healthcheck="http", healthcheck_path="/healthz"
    )
    wait_until(
        lambda: (
            not Operation.objects.filter(app=app, status__in=PENDING).exists()
            and all_answer(kube, app, greeting="hello")
        ),
        timeout=START,
        what="web.1 up with its health check",
    )
    [serving] = ready_pods(kube, app)
    address = f"http://{serving['status']['podIP']}:5000/"

    patched = api("PATCH", f"/apps/{app.name}/config-vars", {"SAMPLE_FAIL_HEALTHCHECK": "1"})
    assert patched.status_code == 200
    operation = Operation.objects.filter(app=app).latest("id")
    failed = wait_until(
        lambda: Operation.objects.filter(pk=operation.pk, status="failed").first(),
        timeout=START,
        what="the rollout reported failed",
    )
    # The kubelet's own words for the probe, from its events.
    assert re.search(
        r"web\.\d+ failed its health check: (Readiness|Liveness) probe failed", failed.error
    )
    assert "statuscode: 503" in failed.error
    # Throughout, the dyno of the release before kept serving, and it alone.
    [still] = ready_pods(kube, app)
    assert still["metadata"]["uid"] == serving["metadata"]["uid"]
    answer = get(address)
    assert answer is not None
    assert answer["greeting"] == "hello"
