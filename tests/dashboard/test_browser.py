"""The main journeys in headless Chromium, against a live server, the real Celery worker, the
watcher and the local cluster: what a user does, and what the cluster then holds."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from playwright.sync_api import Page, expect

from apps.kube.adapter import Cluster
from apps.platform.models import App, Dyno, Release
from tests.conftest import screenshot
from tests.helpers import wait_until
from tests.kwok import append_log_line, attach_log_file
from tests.platform.conftest import IMAGE

pytestmark = pytest.mark.django_db(transaction=True)
CLUSTER_TIMEOUT = 60_000  # ms: a rollout on the local cluster takes seconds, not minutes


@pytest.fixture
def signed_in(page: Page, live_server: Any, bob: Any, team: Any) -> Page:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("bob password 1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    return page


def ready_pods(kube_api: client.ApiClient, namespace: str, process: str = "web") -> list[str]:
    pods: Any = client.CoreV1Api(kube_api).list_namespaced_pod(
        namespace, label_selector=f"paas.dev/process-type={process}"
    )
    return sorted(
        pod.metadata.name
        for pod in pods.items
        if pod.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
    )


def up_dynos(page: Page, release: int | None = None) -> Any:
    rows = page.locator("#rollout tr.dyno")
    if release is not None:
        rows = rows.filter(has_text=f"v{release}")
    return rows.filter(has=page.locator(".state-up"))


def create_and_deploy(page: Page, name: str) -> None:
    page.get_by_role("link", name="New app").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Team").select_option("acme")
    page.get_by_role("button", name="Create app").click()
    expect(page.get_by_role("heading", name="Formation")).to_be_visible()
    page.get_by_role("navigation", name="App").get_by_role("link", name="Deploy").click()
    page.get_by_label("Image").fill(IMAGE)
    page.get_by_label("Process types (Procfile)").fill("web: serve --port $PORT\nworker: work")
    screenshot(page, "deploy")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_text(f"Deployed {IMAGE} as v2.")).to_be_visible()


def drag_slider(page: Page, selector: str, value: int) -> None:
    """Drags the thumb with the mouse, in many small moves, to where `value` sits."""
    slider = page.locator(selector)
    box = slider.bounding_box()
    assert box is not None
    low, high = int(slider.get_attribute("min") or 0), int(slider.get_attribute("max") or 10)
    current = int(slider.input_value())
    thumb = 16  # Chromium's thumb width: its centre travels the track minus the thumb

    def x_of(v: int) -> float:
        return box["x"] + thumb / 2 + (box["width"] - thumb) * (v - low) / (high - low)

    y = box["y"] + box["height"] / 2
    page.mouse.move(x_of(current), y)
    page.mouse.down()
    page.mouse.move(x_of(value), y, steps=25)
    page.mouse.up()


def test_the_main_journey(
    signed_in: Page,
    live_server: Any,
    celery_worker: str,
    observer_process: Any,
    kube: Cluster,
    kube_api: client.ApiClient,
    pod_logs_dir: Path,
) -> None:
    page = signed_in
    name = f"journey-{uuid.uuid4().hex[:6]}"
    create_and_deploy(page, name)
    app = App.objects.get(name=name)
    expect(up_dynos(page)).to_have_count(1, timeout=CLUSTER_TIMEOUT)

    # The slider: one request when it is released, however far it travelled.
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    drag_slider(page, "#qty-web", 3)
    expect(page.locator("#qty-web-out")).to_have_value("3")
    expect(page.locator("#rollout")).to_contain_text("Scale")
    assert [url.rsplit("/", 1)[-1] for url in posts] == ["scale"]
    expect(up_dynos(page)).to_have_count(3, timeout=CLUSTER_TIMEOUT)
    expect(page.locator("#rollout h2")).to_contain_text("settled", timeout=CLUSTER_TIMEOUT)
    assert app.process_types.get(name="web").quantity == 3
    assert len(ready_pods(kube_api, app.namespace)) == 3
    screenshot(page, "overview")

    # A config var: a new release, and every dyno rolls to it.
    page.get_by_role("navigation", name="App").get_by_role("link", name="Config vars").click()
    page.get_by_label("Key").fill("GREETING")
    page.get_by_label("Value").fill("hello <world>")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#config")).to_contain_text("Saved as release v3")
    expect(page.locator("#config")).not_to_contain_text("hello <world>")
    page.get_by_role("link", name="Reveal").click()
    expect(page.locator(".revealed")).to_have_text("hello <world>")
    screenshot(page, "config")
    page.get_by_role("navigation", name="App").get_by_role("link", name="Overview").click()
    expect(up_dynos(page, release=3)).to_have_count(3, timeout=CLUSTER_TIMEOUT)
    secret: Any = client.CoreV1Api(kube_api).read_namespaced_secret("config", app.namespace)
    assert set(secret.data) == {"GREETING"}

    # Roll back to v2: the config var goes, as a new release v4.
    page.get_by_role("navigation", name="App").get_by_role("link", name="Releases").click()
    screenshot(page, "releases")
    page.locator('tr[data-version="3"]').get_by_role("link", name="Diff").click()
    expect(page.locator(".diff")).to_contain_text("GREETING added")
    screenshot(page, "release-diff")
    page.go_back()
    page.locator('tr[data-version="2"]').get_by_role("link", name="Roll back to here").click()
    expect(page.get_by_role("heading", name="Roll back to v2?")).to_be_visible()
    page.get_by_role("button", name="Roll back to v2").click()
    expect(page.get_by_text("Rolled back to v2 as v4.")).to_be_visible()
    expect(up_dynos(page, release=4)).to_have_count(3, timeout=CLUSTER_TIMEOUT)
    wait_until(
        lambda: not client.CoreV1Api(kube_api).read_namespaced_secret("config", app.namespace).data,
        what="the rolled-back config to reach the cluster",
    )

    # Restart one dyno: its pod is replaced, the others keep running.
    expect(page.locator("#rollout h2")).to_contain_text("settled", timeout=CLUSTER_TIMEOUT)
    before = ready_pods(kube_api, app.namespace)
    first = page.locator("#rollout tr.dyno").first.get_attribute("data-dyno") or ""
    dyno = Dyno.objects.get(app=app, process_type="web", number=int(first.split(".")[1]))
    page.get_by_role("button", name=f"Restart {first}").click()
    wait_until(
        lambda: (
            dyno.pod_name not in ready_pods(kube_api, app.namespace)
            and len(ready_pods(kube_api, app.namespace)) == 3
        ),
        timeout=60,
        what=f"{first} to be replaced by a Ready pod",
    )
    assert len(set(before) & set(ready_pods(kube_api, app.namespace))) == 2
    expect(up_dynos(page)).to_have_count(3, timeout=CLUSTER_TIMEOUT)

    # A line a pod writes shows in the live tail, escaped, its colours rendered safely.
    pod = ready_pods(kube_api, app.namespace)[0]
    dyno_name = Dyno.objects.get(app=app, pod_name=pod).name
    log_file = pod_logs_dir / f"{app.namespace}-{pod}.log"
    attach_log_file(kube_api, app.namespace, pod, log_file)
    page.get_by_role("navigation", name="App").get_by_role("link", name="Logs").click()
    expect(page.locator("[data-tail-state]")).to_have_text("connected")
    append_log_line(log_file, "hello from the pod <img src=x onerror=alert(1)> \x1b[31mred\x1b[0m")
    line = page.locator(".log-line", has_text="hello from the pod")
    expect(line).to_be_visible(timeout=15_000)
    expect(line.locator(".log-source")).to_have_text(f"app[{dyno_name}]")
    expect(line.locator("img")).to_have_count(0)
    expect(line.locator(".log-text")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(line.locator("span.ansi-fg-1")).to_have_text("red")
    expect(page.locator(".log-line.paas", has_text="Rolled back to v2")).to_have_count(1)
    screenshot(page, "logs")

    # A release whose image cannot be pulled: the rollout explains it, the old dynos serve on.
    page.get_by_role("navigation", name="App").get_by_role("link", name="Deploy").click()
    page.get_by_label("Image").fill("registry.example.com/unpullable:v9")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#rollout")).to_contain_text(
        "The image cannot be pulled", timeout=CLUSTER_TIMEOUT
    )
    screenshot(page, "overview-failed")
    assert len(ready_pods(kube_api, app.namespace)) >= 3
    assert Release.objects.filter(app=app).count() == 5

    page.get_by_role("navigation", name="App").get_by_role("link", name="Activity").click()
    expect(page.locator("table.activity")).to_contain_text("Scaled to web@3:basic by user bob")
    screenshot(page, "activity")
    page.get_by_role("link", name="Apps", exact=True).click()
    expect(page.locator(f"tr:has-text('{name}') .state")).to_have_text("failed")
    screenshot(page, "apps")
