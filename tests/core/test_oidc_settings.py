"""The sign-in provider's settings: off unless OIDC_ISSUER is set, and a bad value stops the
start-up with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from paas.env import env_team_groups
from tests.conftest import ROOT
from tests.core.conftest import OIDC_BACKEND, UNREACHABLE_ISSUER
from tests.core.test_env import run_manage_check

OIDC_ENV = {
    "OIDC_ISSUER": UNREACHABLE_ISSUER,
    "OIDC_CLIENT_ID": "paas-dashboard",
    "OIDC_CLIENT_SECRET": "secret",
}


def test_the_team_groups_setting_maps_groups_to_teams_and_roles(monkeypatch):
    monkeypatch.setenv(
        "GROUPS", "/acme=acme:member, /acme/admins=acme:admin,ops=acme,ops=globex:admin"
    )
    assert env_team_groups("GROUPS") == {
        "/acme": {"acme": "member"},
        "/acme/admins": {"acme": "admin"},
        "ops": {"acme": "member", "globex": "admin"},
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("acme", "entry 'acme' must read GROUP=TEAM:ROLE"),
        ("/acme=acme:owner", "ROLE one of admin, member"),
        ("/acme=not a team", "entry '/acme=not a team' must read GROUP=TEAM:ROLE"),
        ("=acme:member", "entry '=acme:member' must read GROUP=TEAM:ROLE"),
        ("/acme=acme:admin,/acme=acme:member", "gives group '/acme' two roles in acme"),
    ],
)
def test_a_bad_team_groups_setting_is_refused(monkeypatch, value, message):
    monkeypatch.setenv("GROUPS", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        env_team_groups("GROUPS")


PRODUCTION = {
    "PAAS_ENV": "production",
    "SECRET_KEY": "x" * 40,
    "CONFIG_ENCRYPTION_KEYS": "hlgtI69fRoG2mEWLptvb8r03hwa-INnYtamkF_vxEuU=",
}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (OIDC_ENV | {"OIDC_TEAM_GROUPS": "/acme=acme:owner"}, "OIDC_TEAM_GROUPS entry"),
        ({"OIDC_CLIENT_ID": "paas-dashboard"}, "need OIDC_ISSUER"),
        ({"OIDC_ISSUER": UNREACHABLE_ISSUER}, "OIDC_CLIENT_ID must be set"),
        (OIDC_ENV | {"OIDC_ISSUER": "keycloak.example.org"}, "must be an http or https URL"),
        (OIDC_ENV | {"OIDC_SIGN_ALGO": "none"}, "OIDC_SIGN_ALGO='none' must be"),
        (
            OIDC_ENV | PRODUCTION,
            f"OIDC_ISSUER={UNREACHABLE_ISSUER!r} must be an https URL",
        ),
    ],
)
def test_start_up_stops_on_a_bad_oidc_setting(overrides, message):
    result = run_manage_check(**overrides)
    assert result.returncode != 0
    assert message in result.stderr


def backends_with(env: dict[str, str]) -> list[str]:
    probe = "from django.conf import settings; print(*settings.AUTHENTICATION_BACKENDS)"
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "paas.settings"} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return shown.stdout.split()


def test_the_provider_comes_after_django_axes_and_passwords():
    password = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
    assert backends_with({}) == password
    assert backends_with(OIDC_ENV | {"OIDC_TEAM_GROUPS": "/acme=acme"}) == [*password, OIDC_BACKEND]
