from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from paas.env import (
    database_from_url,
    env_bool,
    env_int,
    env_node_selector,
    env_tolerations,
    redis_url,
)
from tests.conftest import ROOT


def test_database_url_is_split_into_django_settings():
    db = database_from_url("DATABASE_URL", "postgres://paas:s%40cret@db.internal:5433/paas_prod")
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "paas_prod",
        "paas",
        "s@cret",
        "db.internal",
        "5433",
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/paas", "must be a postgres:// URL"),
        ("postgres://db:5432", "no database name"),
        ("postgres://db:notaport/paas", "invalid port"),
    ],
)
def test_bad_database_url_names_the_problem(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url("DATABASE_URL", url)


def test_bad_redis_url_is_rejected():
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must be a redis:// URL"):
        redis_url("REDIS_URL", "http://localhost:6379")


def test_booleans_and_numbers_fail_loudly(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False)
    monkeypatch.setenv("KUBE_REQUEST_TIMEOUT", "0")
    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        env_int("KUBE_REQUEST_TIMEOUT", 10, minimum=1)


def test_placement_settings_become_a_node_selector_and_tolerations(monkeypatch):
    monkeypatch.setenv("SELECTOR", "paas.dev/node=real, disk=ssd")
    monkeypatch.setenv("TOLERATE", "paas.dev/node=real:NoSchedule,dedicated:NoExecute")
    assert env_node_selector("SELECTOR") == {"paas.dev/node": "real", "disk": "ssd"}
    assert env_tolerations("TOLERATE") == [
        {"key": "paas.dev/node", "operator": "Equal", "value": "real", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"},
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SELECTOR", "real", "SELECTOR entry 'real' must read LABEL=VALUE"),
        ("SELECTOR", "a b=c", "must read LABEL=VALUE"),
        ("TOLERATE", "paas.dev/node=real", "must read KEY=VALUE:EFFECT or KEY:EFFECT"),
        ("TOLERATE", "node:Sometimes", "the effect one of NoSchedule, PreferNoSchedule"),
    ],
)
def test_bad_placement_settings_name_the_problem(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    reader = env_node_selector if name == "SELECTOR" else env_tolerations
    with pytest.raises(ImproperlyConfigured, match=message):
        reader(name)


def run_manage_check(*options: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    # The browser tests' allowance for their event loop is no setting of a deployment.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | overrides
    return subprocess.run(
        [sys.executable, "manage.py", "check", *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DATABASE_URL": "mysql://localhost/paas"}, "DATABASE_URL must be a postgres:// URL"),
        (
            {"KUBECONFIG": "/nonexistent/kubeconfig"},
            "KUBECONFIG=/nonexistent/kubeconfig does not exist",
        ),
        ({"PAAS_ENV": "production", "SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"PAAS_ENV": "production", "SECRET_KEY": "short"}, "SECRET_KEY must be at least 32"),
        ({"PAAS_ENV": "staging"}, "PAAS_ENV='staging' must be development or production"),
        (
            {"PAAS_ENV": "production", "SECRET_KEY": "x" * 40, "CONFIG_ENCRYPTION_KEYS": ""},
            "CONFIG_ENCRYPTION_KEYS must be set outside development",
        ),
        ({"CONFIG_ENCRYPTION_KEYS": "short"}, "CONFIG_ENCRYPTION_KEYS: key 1 is not a Fernet key"),
    ],
)
def test_start_up_stops_with_a_clear_message_on_a_bad_setting(overrides, message):
    result = run_manage_check(**overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_start_up_succeeds_with_the_test_environment():
    result = run_manage_check()
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_checklist_is_clean_with_production_settings():
    production = {
        "PAAS_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": "a-production-secret-key-of-more-than-fifty-characters-0123456789",
        "ALLOWED_HOSTS": "paas.example.com",
        "CONFIG_ENCRYPTION_KEYS": "hlgtI69fRoG2mEWLptvb8r03hwa-INnYtamkF_vxEuU=",
    }
    result = run_manage_check("--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
