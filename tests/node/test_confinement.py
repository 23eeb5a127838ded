"""A hostile image on the real node: it runs as root and tries to gain more, and finds itself
confined by what every dyno gets (apps/kube/manifests.py: DYNO_POD, CONTAINER_SECURITY_CONTEXT)."""

from __future__ import annotations

import uuid

import pytest

from apps.platform.models import App, Dyno
from tests.helpers import wait_until
from tests.node.conftest import REGISTRY, START, ready_pods

pytestmark = pytest.mark.django_db(transaction=True)

# Reports what the dyno holds, then stays up. The base image runs as root and has no USER.
PROBE = (
    "echo uid=$(id -u); grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status;"
    " test -e /var/run/secrets/kubernetes.io/serviceaccount/token && echo token=mounted"
    " || echo token=absent;"
    " mount -t tmpfs none /mnt 2>/dev/null && echo mount=allowed || echo mount=refused;"
    " chown 1:1 /etc/hostname 2>/dev/null && echo chown=allowed || echo chown=refused;"
    " echo probe=done; exec sleep 3600"
)


def test_a_root_image_holds_no_capability_no_token_and_cannot_escalate(node_worker, api, kube):
    name = f"hostile-{uuid.uuid4().hex[:6]}"
    assert api("POST", "/teams/apps", {"name": name, "team": "acme"}).status_code == 201
    release = {"oci_image": f"{REGISTRY}/paas/base:bookworm", "commands": {"worker": PROBE}}
    assert api("POST", f"/apps/{name}/releases", release).status_code == 201
    assert api("PATCH", f"/apps/{name}/formation/worker", {"quantity": 1}).status_code == 200
    app = App.objects.get(name=name)

    def report() -> dict[str, str]:
        for pod in ready_pods(kube, app, "worker"):
            lines = [
                line.split(" ", 1)[-1]
                for line in kube.pod_log(app.namespace, pod["metadata"]["name"])
            ]
            if "probe=done" in lines:
                return dict(
                    line.replace(":\t", "=").split("=", 1)
                    for line in lines
                    if "=" in line or ":\t" in line
                )
        return {}

    found = wait_until(report, timeout=START, what="the hostile dyno's report")
    assert found["uid"] == "0"  # root, as its image asks: contained, not refused
    assert found["CapEff"] == "0000000000000000"
    assert found["NoNewPrivs"] == "1"
    assert found["Seccomp"] == "2"  # filtered by the runtime's default profile
    assert found["token"] == "absent"
    assert found["mount"] == "refused"
    assert found["chown"] == "refused"


def test_an_app_opted_into_restricted_pod_security_cannot_start_a_root_image(
    node_worker, api, kube
):
    name = f"strict-{uuid.uuid4().hex[:6]}"
    assert api("POST", "/teams/apps", {"name": name, "team": "acme"}).status_code == 201
    enabled = api("PATCH", f"/apps/{name}/features/restricted-pod-security", {"enabled": True})
    assert enabled.status_code == 200
    release = {"oci_image": f"{REGISTRY}/paas/base:bookworm", "commands": {"web": "sleep 3600"}}
    assert api("POST", f"/apps/{name}/releases", release).status_code == 201
    app = App.objects.get(name=name)
    dyno = wait_until(
        lambda: Dyno.objects.filter(app=app, process_type="web").exclude(reason="").first(),
        timeout=START,
        what="the root dyno refused with a reason",
    )
    assert dyno.reason == "The dyno's configuration is invalid"
    assert "runAsNonRoot" in dyno.message
    assert not ready_pods(kube, app, "web")
