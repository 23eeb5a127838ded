"""The Helm chart installs into a real cluster: hooks run, workloads become Ready, RBAC exists."""

from __future__ import annotations

import os
import subprocess

import pytest
from kubernetes import client

from tests.conftest import ROOT

pytestmark = pytest.mark.cluster

CHART = str(ROOT / "helm" / "paas")
SECRETS = [
    "--set",
    "databaseUrl=postgres://paas:pw@db.internal:5432/paas",
    "--set",
    "redisUrl=redis://redis.internal:6379/0",
    "--set",
    f"secretKey={'k' * 40}",
    "--set",
    "configEncryptionKeys=hlgtI69fRoG2mEWLptvb8r03hwa-INnYtamkF_vxEuU=",
    "--set",
    "installationId=chart-test",
]


def helm(*args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    command = [os.environ["PAAS_HELM_BIN"], "--kubeconfig", os.environ["KUBECONFIG"], *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_it_installs_and_every_workload_becomes_ready(kube_api, namespace):
    release = f"paas-{namespace[-6:]}"
    installed = helm(
        "install",
        release,
        CHART,
        "--namespace",
        namespace,
        *SECRETS,
        "--set",
        "web.replicas=3",
        "--wait",
        "--wait-for-jobs",
        "--timeout",
        "120s",
    )
    try:
        # --wait returns only once the pre-install migrate Job completed and every Deployment
        # has its replicas Ready.
        assert installed.returncode == 0, installed.stderr
        apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
        deployments = {d.metadata.name: d for d in apps.list_namespaced_deployment(namespace).items}
        assert set(deployments) == {
            f"{release}-web",
            f"{release}-worker",
            f"{release}-beat",
            f"{release}-observer",
        }
        assert deployments[f"{release}-web"].status.ready_replicas == 3
        assert deployments[f"{release}-beat"].spec.strategy.type == "Recreate"

        web = deployments[f"{release}-web"].spec.template.spec
        assert web.service_account_name == f"{release}-web"
        env = {e.name: e for e in web.containers[0].env}
        assert env["DATABASE_URL"].value_from.secret_key_ref.name == release
        assert env["PAAS_ENV"].value == "production"

        secret = core.read_namespaced_secret(release, namespace)
        assert set(secret.data) == {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "CONFIG_ENCRYPTION_KEYS",
        }
        rbac = client.RbacAuthorizationV1Api(kube_api)
        rules = rbac.read_cluster_role(f"{release}-worker").rules
        assert any("deployments" in (rule.resources or []) for rule in rules)
    finally:
        helm("uninstall", release, "--namespace", namespace, "--wait")


def test_it_refuses_to_render_without_its_secrets():
    rendered = helm("template", "paas", CHART)

    assert rendered.returncode != 0
    assert "databaseUrl is required" in rendered.stderr


def test_an_existing_secret_replaces_the_generated_one():
    rendered = helm(
        "template",
        "paas",
        CHART,
        "--set",
        "existingSecret=paas-secrets",
        "--set",
        "installationId=chart-test",
    )

    assert rendered.returncode == 0, rendered.stderr
    assert "kind: Secret" not in rendered.stdout
    assert rendered.stdout.count("name: paas-secrets") >= 4  # each workload's env names it


def test_heroku_run_gets_its_rendezvous_server_when_enabled():
    off = helm("template", "paas", CHART, *SECRETS)
    assert "args: [rendezvous]" not in off.stdout
    rendered = helm(
        "template",
        "paas",
        CHART,
        *SECRETS,
        "--set",
        "rendezvous.enabled=true",
        "--set",
        "rendezvous.host=run.paas.example.com",
        "--set",
        "rendezvous.tlsSecret=run-tls",
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "args: [rendezvous]" in rendered.stdout
    assert "secretName: run-tls" in rendered.stdout
    assert "type: LoadBalancer" in rendered.stdout
    # The web pods hand out attach URLs naming the server.
    assert rendered.stdout.count('{name: RENDEZVOUS_HOST, value: "run.paas.example.com"}') >= 2
    missing = helm("template", "paas", CHART, *SECRETS, "--set", "rendezvous.enabled=true")
    assert missing.returncode != 0
    assert "rendezvous.host is required" in missing.stderr
