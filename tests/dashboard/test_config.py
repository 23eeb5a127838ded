from __future__ import annotations

import pytest

from apps.platform.encryption import app_config, unseal_all
from apps.platform.services import config_update

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def secret(bob, app):
    config_update(actor=bob, app=app, changes={"DATABASE_URL": "postgres://u:hunter2@db/x"})


def test_values_stay_out_of_the_page_until_revealed(bob_client, secret):
    page = bob_client.get("/apps/billing/config").content.decode()
    assert "DATABASE_URL" in page
    assert "hunter2" not in page
    revealed = bob_client.get("/apps/billing/config/DATABASE_URL", headers=HTMX)
    assert revealed.status_code == 200
    assert "postgres://u:hunter2@db/x" in revealed.content.decode()
    assert "no-store" in revealed["Cache-Control"]  # no cache keeps a secret
    assert bob_client.get("/apps/billing/config/NOPE").status_code == 404


def test_saving_creates_a_release_and_shows_it(bob_client, app, secret):
    response = bob_client.post(
        "/apps/billing/config/set", {"key": "FEATURE_X", "value": "on"}, headers=HTMX
    )
    assert response.status_code == 200
    release = app.releases.order_by("-version").first()
    assert unseal_all(app, release.config)["FEATURE_X"] == "on"
    assert f'Saved as release <a href="/apps/billing/releases">v{release.version}</a>' in (
        response.content.decode()
    )
    assert "Set FEATURE_X config vars" in response.content.decode()


def test_editing_replaces_the_value(bob_client, app, secret):
    bob_client.post("/apps/billing/config/set", {"key": "DATABASE_URL", "value": "postgres://new"})
    assert app_config(app)["DATABASE_URL"] == "postgres://new"


def test_without_javascript_saving_redirects_to_the_release(bob_client, app, secret):
    response = bob_client.post("/apps/billing/config/set", {"key": "A", "value": "1"})
    version = app.releases.order_by("-version").first().version
    assert response.status_code == 302
    assert response["Location"] == f"/apps/billing/config?release={version}"
    assert f"v{version}" in bob_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("release", ["abc", "\u00b2", "9" * 30])
def test_a_release_that_is_not_a_version_shows_the_page_without_a_flash(bob_client, app, release):
    """It reached the version column as it was: a 500 (found by test_fuzz_forms)."""
    response = bob_client.get("/apps/billing/config", {"release": release})
    assert response.status_code == 200
    assert "Saved as release" not in response.content.decode()


def test_a_key_with_a_nul_is_not_found(bob_client, secret):
    """Postgres refuses a NUL in a query: revealing one answered 500 (found by test_fuzz_forms)."""
    assert bob_client.get("/apps/billing/config/DATABASE_URL%00").status_code == 404


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("1BAD", "x", "not a valid"),
        ("WITH SPACE", "x", "not a valid"),
        ("PORT", "80", "PORT is set by the platform"),
        ("BIG", "x" * (33 * 1024), "the limit is"),
        ("", "x", "This field is required"),
    ],
)
def test_bad_config_vars_are_refused_inline(bob_client, app, secret, key, value, message):
    releases = app.releases.count()
    data = {"key": key, "value": value}
    response = bob_client.post("/apps/billing/config/set", data, headers=HTMX)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert app.releases.count() == releases
    assert set(app.config_vars.values_list("key", flat=True)) == {"DATABASE_URL"}


def test_removing_a_config_var(bob_client, app, secret):
    response = bob_client.post("/apps/billing/config/unset", {"key": "DATABASE_URL"}, headers=HTMX)
    assert response.status_code == 200
    assert not app.config_vars.exists()
    assert "Unset DATABASE_URL config vars" in response.content.decode()
    again = bob_client.post("/apps/billing/config/unset", {"key": "DATABASE_URL"}, headers=HTMX)
    assert "Nothing to change" in again.content.decode()
