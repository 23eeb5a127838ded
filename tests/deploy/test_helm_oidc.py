"""The chart's single sign-on values, rendered with `helm template` (no cluster needed)."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import yaml

from tests.conftest import ROOT

CHART = str(ROOT / "helm" / "paas")
REQUIRED = {
    "databaseUrl": "postgres://paas:pw@db.internal:5432/paas",
    "redisUrl": "redis://redis.internal:6379/0",
    "secretKey": "k" * 40,
    "configEncryptionKeys": "hlgtI69fRoG2mEWLptvb8r03hwa-INnYtamkF_vxEuU=",
    "installationId": "chart-test",
}
OIDC = {
    "oidc.issuer": "https://keycloak.example.com/realms/acme",
    "oidc.clientId": "paas",
    "oidc.clientSecret": "client-secret",
    "oidc.providerName": "Keycloak",
    "oidc.teamGroups": r"/acme=acme:member\,/acme-admins=acme:admin",
}


def template(values: dict[str, str]) -> subprocess.CompletedProcess[str]:
    options = [item for key, value in values.items() for item in ("--set-string", f"{key}={value}")]
    command = [os.environ["PAAS_HELM_BIN"], "template", "paas", CHART, *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def workloads_env(rendered: str) -> dict[str, dict[str, Any]]:
    """Each Deployment's and Job's container env, by name."""
    found = {}
    for doc in yaml.safe_load_all(rendered):
        if doc and doc["kind"] in {"Deployment", "Job"}:
            container = doc["spec"]["template"]["spec"]["containers"][0]
            found[doc["metadata"]["name"]] = {e["name"]: e for e in container["env"]}
    return found


def test_without_an_issuer_no_pod_has_single_sign_on():
    rendered = template(REQUIRED)
    assert rendered.returncode == 0, rendered.stderr
    assert "OIDC" not in rendered.stdout


def test_every_pod_gets_the_provider_and_the_secret_holds_the_client_secret():
    rendered = template(REQUIRED | OIDC)
    assert rendered.returncode == 0, rendered.stderr
    envs = workloads_env(rendered.stdout)
    assert {"paas-web", "paas-worker", "paas-beat", "paas-observer", "paas-migrate-1"} <= set(envs)
    for env in envs.values():
        assert env["OIDC_ISSUER"]["value"] == "https://keycloak.example.com/realms/acme"
        assert env["OIDC_CLIENT_ID"]["value"] == "paas"
        assert env["OIDC_PROVIDER_NAME"]["value"] == "Keycloak"
        assert env["OIDC_TEAM_GROUPS"]["value"] == "/acme=acme:member,/acme-admins=acme:admin"
        ref = env["OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "paas", "key": "OIDC_CLIENT_SECRET"}
    secret = next(d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] == "Secret")
    assert secret["stringData"]["OIDC_CLIENT_SECRET"] == "client-secret"


def test_an_issuer_without_a_client_secret_is_refused():
    rendered = template(REQUIRED | {k: v for k, v in OIDC.items() if k != "oidc.clientSecret"})
    assert rendered.returncode != 0
    assert "oidc.clientSecret is required with oidc.issuer" in rendered.stderr


def test_an_existing_secret_holds_the_client_secret():
    values = {"existingSecret": "paas-secrets", "installationId": "chart-test"} | OIDC
    rendered = template({k: v for k, v in values.items() if k != "oidc.clientSecret"})
    assert rendered.returncode == 0, rendered.stderr
    assert "kind: Secret" not in rendered.stdout
    for env in workloads_env(rendered.stdout).values():
        ref = env["OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "paas-secrets", "key": "OIDC_CLIENT_SECRET"}
