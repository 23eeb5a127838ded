"""The settings page: renaming an app, maintenance mode and features, each through its service,
and refused input shown on the page with nothing changed."""

from __future__ import annotations

import pytest

from apps.platform.models import Activity, App, Operation
from apps.platform.services import app_create

pytestmark = pytest.mark.django_db


def test_the_settings_page_shows_the_name_maintenance_and_each_feature(bob_client, app):
    page = bob_client.get(f"/apps/{app.name}/settings")
    assert page.status_code == 200
    content = page.content.decode()
    assert f"namespace {app.namespace}" in content
    assert 'data-feature="preboot"' in content
    assert 'data-feature="runtime-dyno-metadata"' in content
    assert "Turn maintenance mode on" in content


def test_renaming_moves_the_pages_to_the_new_name_and_keeps_the_namespace(bob_client, app):
    namespace = app.namespace
    response = bob_client.post(f"/apps/{app.name}/settings/rename", {"name": "shop-renamed"})
    assert response.status_code == 302
    assert response["Location"] == "/apps/shop-renamed/settings"
    renamed = App.objects.get(pk=app.pk)
    assert (renamed.name, renamed.namespace) == ("shop-renamed", namespace)
    assert bob_client.get(f"/apps/{app.name}/settings").status_code == 404
    assert Operation.objects.filter(app=app, target="name").exists()


def test_a_clashing_or_invalid_name_is_shown_and_changes_nothing(bob_client, app, bob, team):
    app_create(actor=bob, team=team, name="taken")
    clash = bob_client.post(f"/apps/{app.name}/settings/rename", {"name": "taken"})
    assert clash.status_code == 400
    assert b"The name taken is already taken." in clash.content
    bad = bob_client.post(f"/apps/{app.name}/settings/rename", {"name": "Bad Name\n"})
    assert bad.status_code == 400
    assert App.objects.get(pk=app.pk).name == app.name
    assert not Activity.objects.filter(action="app.rename").exists()


def test_maintenance_and_features_switch_and_say_so(bob_client, app):
    on = bob_client.post(f"/apps/{app.name}/settings/maintenance", {"maintenance": "on"})
    assert on.status_code == 302
    assert App.objects.get(pk=app.pk).maintenance
    off = bob_client.post(f"/apps/{app.name}/settings/features/preboot", {"enabled": "off"})
    assert off.status_code == 302
    assert App.objects.get(pk=app.pk).features == {"preboot": False}
    page = bob_client.get(f"/apps/{app.name}/settings").content.decode()
    assert "preboot is off." in page
    unknown = bob_client.post(f"/apps/{app.name}/settings/features/nope", {"enabled": "on"})
    assert unknown.status_code == 302
    page = bob_client.get(f"/apps/{app.name}/settings").content.decode()
    assert "There is no feature &#x27;nope&#x27;" in page
    assert App.objects.get(pk=app.pk).features == {"preboot": False}
