"""The official Heroku CLI runs here at all, fails fast without credentials, and talks to no host
but ours. None of these needs an API endpoint."""

from __future__ import annotations

import time

import pytest

from tests.api.conftest import HerokuCLI

pytestmark = pytest.mark.django_db(transaction=True)


def test_version_is_the_pinned_11x(heroku: HerokuCLI) -> None:
    result = heroku("--version")
    assert result.stdout.startswith("heroku/11."), result.stdout


def test_apps_without_a_token_fails_fast(heroku: HerokuCLI) -> None:
    started = time.monotonic()
    result = heroku("apps", check=False, timeout=30)
    assert time.monotonic() - started < 20
    assert result.returncode != 0
    assert (result.stdout + result.stderr).strip(), "the CLI failed without saying anything"


def test_the_environment_switches_off_outside_traffic(heroku: HerokuCLI) -> None:
    env = heroku.env
    assert env["HEROKU_HOST"] == env["HEROKU_PARTICLEBOARD_URL"] == heroku.server_url
    assert env["DISABLE_TELEMETRY"] == "true"
    assert env["HEROKU_SKIP_ANALYTICS"] == "1"
    assert env["HEROKU_SKIP_NEW_VERSION_CHECK"] == "true"
    assert "HEROKU_API_KEY" not in env
    assert env["HOME"] == str(heroku.home)


def test_the_proxy_trap_sees_traffic_to_other_hosts(heroku: HerokuCLI) -> None:
    """The check the `heroku` fixture makes at teardown can fail: a host the CLI rejects sends it
    to api.heroku.com, through the trap, which forwards nothing."""
    result = heroku(
        "apps",
        token="not-a-token",
        check=False,
        timeout=30,
        env={"HEROKU_HOST": "http://paas.example.test"},
    )
    assert result.returncode != 0
    assert "Invalid HEROKU_HOST" in result.stderr
    assert any("api.heroku.com" in line for line in heroku.trap.connections), (
        heroku.trap.connections
    )
    heroku.trap.connections.clear()  # seen; the fixture's own check is for the other tests


def test_with_a_token_the_cli_talks_only_to_the_live_server(heroku: HerokuCLI) -> None:
    # Whatever the server answers for now; the fixture then checks the trap stayed untouched.
    heroku("apps", token="not-a-token", check=False, timeout=30)
    heroku("apps", check=False, timeout=30)
    assert heroku.trap.connections == []
