"""The chart's least privilege, proven on the real apiserver: each component's ServiceAccount,
impersonated, does the platform's work, and is refused a kube-system Secret, an exec into a
kube-system pod and any write to a namespace without this installation's label."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from kubernetes import client

from apps.kube.adapter import Cluster, ClusterError
from apps.kube.manifests import INSTALLATION_LABEL
from apps.platform.controller.reconcile import reconcile_app, teardown
from apps.platform.controller.resync import resync
from apps.platform.models import Operation
from apps.platform.services import (
    ProcessChange,
    app_create,
    app_destroy,
    formation_update,
    release_deploy,
)
from tests.conftest import ARTIFACTS
from tests.deploy.test_helm_chart import CHART, SECRETS, helm
from tests.helpers import wait_until
from tests.platform.conftest import IMAGE

pytestmark = pytest.mark.cluster
COMPONENTS = ("web", "worker", "observer", "beat", "migrate", "rendezvous")


def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [
        os.path.join(os.environ["PAAS_CLUSTER_BIN_DIR"], "kubectl"),
        "--kubeconfig",
        os.environ["KUBECONFIG"],
        *args,
    ]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)


class Chart:
    def __init__(self, kube_api: client.ApiClient, release: str, namespace: str) -> None:
        self.kube_api, self.release, self.namespace = kube_api, release, namespace

    def account(self, component: str) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.release}-{component}"

    def api(self, component: str) -> client.ApiClient:
        """A client that acts as the component's ServiceAccount (impersonation)."""
        api = client.ApiClient(self.kube_api.configuration)
        api.set_default_header(  # type: ignore[no-untyped-call]
            "Impersonate-User", self.account(component)
        )
        return api

    def kube(self, component: str) -> Cluster:
        return Cluster(self.api(component), installation=settings.INSTALLATION_ID)


@pytest.fixture
def chart(kube_api: client.ApiClient, namespace: str) -> Iterator[Chart]:
    """The chart's ServiceAccounts, roles and admission policy, applied as Helm would."""
    release = f"rb-{uuid.uuid4().hex[:6]}"
    rendered = helm(
        "template",
        release,
        CHART,
        "--namespace",
        namespace,
        *SECRETS,
        "--set",
        f"installationId={settings.INSTALLATION_ID}",
        "--show-only",
        "templates/rbac.yaml",
        "--show-only",
        "templates/admission-policy.yaml",
    )
    assert rendered.returncode == 0, rendered.stderr
    applied = kubectl("apply", "--namespace", namespace, "-f", "-", stdin=rendered.stdout)
    assert applied.returncode == 0, applied.stderr
    found = Chart(kube_api, release, namespace)
    yield found
    kubectl(
        "delete", "--namespace", namespace, "--ignore-not-found", "-f", "-", stdin=rendered.stdout
    )


def refused(call: Any) -> str:
    """The API server's refusal of the call, as text; fails the test if it was allowed."""
    with pytest.raises((client.ApiException, ClusterError)) as caught:
        call()
    error = caught.value
    text = str(getattr(error, "body", "") or error)
    assert getattr(error, "status", 403) == 403, text
    assert isinstance(error, client.ApiException) or "HTTP 403" in text, text
    return text


def foreign(kube_api: client.ApiClient, namespace: str) -> Any:
    """A Deployment body for a namespace that is not ours."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "intruder", "namespace": namespace},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"x": "y"}},
            "template": {
                "metadata": {"labels": {"x": "y"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


def test_the_worker_does_the_platforms_work_and_nothing_outside_it(
    chart, alice, team, namespace, kube_api, settings
):
    worker = chart.kube("worker")
    roles = {
        f"{chart.release}-app-{c}": f"{chart.namespace}/{chart.release}-{c}"
        for c in ("worker", "web", "rendezvous")
    }
    settings.NAMESPACE_ACCESS = [(r, *a.split("/")) for r, a in roles.items()]
    # The admission policy takes effect once the API server has compiled it.
    wait_until(
        lambda: _refused_quietly(lambda: worker.apply(foreign(kube_api, namespace))),
        timeout=30,
        what="the admission policy to be enforced",
    )
    app = app_create(actor=alice, team=team, name=f"rbac-{uuid.uuid4().hex[:6]}")
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", quantity=2)])
    release_deploy(actor=alice, app=app, image=IMAGE)

    reconcile_app(app.pk, kube=worker)
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", quantity=3)])
    reconcile_app(app.pk, kube=worker)
    client.AppsV1Api(kube_api).patch_namespaced_deployment_scale(
        "web", app.namespace, {"spec": {"replicas": 9}}
    )
    report = resync(worker)

    assert not Operation.objects.filter(app=app, status=Operation.Status.FAILED).exists()
    assert app.name in report.reconciled
    scale = client.AppsV1Api(kube_api).read_namespaced_deployment_scale("web", app.namespace)
    assert scale.spec.replicas == 3
    bindings = client.RbacAuthorizationV1Api(kube_api).list_namespaced_role_binding(app.namespace)
    assert {b.metadata.name for b in bindings.items} == set(roles)
    # The secret a resync audits is readable in the app's namespace, and nowhere else.
    assert worker.read("Secret", app.namespace, "config") is not None
    core = client.CoreV1Api(chart.api("worker"))
    refused(lambda: core.list_namespaced_secret("kube-system"))
    refused(lambda: core.read_namespaced_secret("anything", "kube-system"))
    assert "own installation" in refused(lambda: core.delete_namespace(namespace))
    assert "own installation" in refused(
        lambda: core.patch_namespace(
            namespace, {"metadata": {"labels": {INSTALLATION_LABEL: settings.INSTALLATION_ID}}}
        )
    )
    assert "own installation" in refused(lambda: worker.apply(foreign(kube_api, namespace)))
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "escalate", "namespace": "kube-system"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": f"{chart.release}-app-web",
        },
        "subjects": [
            {
                "kind": "ServiceAccount",
                "name": f"{chart.release}-worker",
                "namespace": chart.namespace,
            }
        ],
    }
    assert "own installation" in refused(lambda: worker.apply(binding))

    app_destroy(actor=alice, app=app)
    teardown(worker, str(app.uid))
    found = client.CoreV1Api(kube_api).read_namespace(app.namespace)
    assert found.metadata.deletion_timestamp is not None


def _refused_quietly(call: Any) -> bool:
    try:
        call()
    except (client.ApiException, ClusterError) as error:
        return "own installation" in str(getattr(error, "body", "") or error)
    return False


def test_no_component_reads_secrets_or_execs_outside_app_namespaces(chart, kube_api):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"system-{uuid.uuid4().hex[:6]}", "namespace": "kube-system"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    client.CoreV1Api(kube_api).create_namespaced_pod("kube-system", pod)
    try:
        for component in COMPONENTS:
            core = client.CoreV1Api(chart.api(component))
            refused(lambda core=core: core.read_namespaced_secret("any", "kube-system"))
            refused(lambda core=core: core.list_secret_for_all_namespaces())

            # kubectl, since the client's exec stream leaves impersonation headers out.
            done = kubectl(
                "exec",
                f"--as={chart.account(component)}",
                "-n",
                "kube-system",
                pod["metadata"]["name"],
                "--",
                "true",
            )
            assert done.returncode != 0
            assert "Forbidden" in done.stderr or "forbidden" in done.stderr, done.stderr
    finally:
        client.CoreV1Api(kube_api).delete_namespaced_pod(
            pod["metadata"]["name"], "kube-system", grace_period_seconds=0
        )


def test_what_each_account_may_do_is_written_down(chart):
    """`kubectl auth can-i --list` for each ServiceAccount, kept for review."""
    out = ARTIFACTS / "rbac"
    out.mkdir(parents=True, exist_ok=True)
    tables = {}
    for component in COMPONENTS:
        listed = kubectl(
            "auth",
            "can-i",
            "--list",
            "--namespace",
            "kube-system",
            f"--as={chart.account(component)}",
        )
        assert listed.returncode == 0, listed.stderr
        tables[component] = listed.stdout
        (out / f"{component}.txt").write_text(listed.stdout)

    def verbs(component: str, resource: str) -> set[str]:
        found: set[str] = set()
        for row in tables[component].splitlines():
            if row.split()[:1] == [resource]:
                found |= set(row[row.rindex("[") + 1 : row.rindex("]")].split())
        return found

    # In kube-system no account may read Secrets, exec, or read logs.
    for component in COMPONENTS:
        assert not verbs(component, "secrets") & {"get", "list", "watch", "*"}, component
        assert not verbs(component, "pods/exec") & {"create", "*"}, component
        assert not verbs(component, "pods/log") & {"get", "*"}, component
    assert verbs("beat", "namespaces") == set()
    assert verbs("migrate", "deployments.apps") == set()
