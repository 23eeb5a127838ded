from __future__ import annotations

import pytest

from apps.logs.events import event_text

ALICE = "alice@example.org"


def test_app_create():
    after = {"name": "shop", "team": "acme"}
    assert event_text("app.create", {}, after, ALICE) == f"Created app shop by user {ALICE}"


def test_formation_update_lists_the_changed_process_types_sorted():
    before = {
        "worker": {"quantity": 1, "size": "basic"},
        "web": {"quantity": 2, "size": "basic"},
        "clock": {"quantity": 1, "size": "basic"},
    }
    after = {
        "worker": {"quantity": 1, "size": "standard-2x"},
        "web": {"quantity": 3, "size": "basic"},
        "clock": {"quantity": 1, "size": "basic"},
    }
    assert event_text("formation.update", before, after, ALICE) == (
        f"Scaled to web@3:basic worker@1:standard-2x by user {ALICE}"
    )


def test_formation_update_with_a_new_process_type():
    before = {"web": {"quantity": 1, "size": "basic"}}
    after = {"web": {"quantity": 1, "size": "basic"}, "worker": {"quantity": 2, "size": "basic"}}
    assert event_text("formation.update", before, after, "bob") == (
        "Scaled to worker@2:basic by user bob"
    )


def test_formation_update_without_a_change_lists_every_process_type():
    formation = {"worker": {"quantity": 0, "size": "basic"}, "web": {"quantity": 1, "size": "eco"}}
    assert event_text("formation.update", formation, dict(formation), ALICE) == (
        f"Scaled to web@1:eco worker@0:basic by user {ALICE}"
    )


@pytest.mark.parametrize(
    ("before", "after", "text"),
    [
        (["A"], ["A", "FOO", "BAR"], "Set BAR, FOO config vars"),
        (["BAZ", "KEEP"], ["KEEP"], "Unset BAZ config vars"),
        (["OLD", "KEEP"], ["KEEP", "NEW"], "Set NEW; Unset OLD config vars"),
        (["KEEP"], ["KEEP"], "Updated config vars"),
        ([], [], "Updated config vars"),
    ],
)
def test_config_update(before, after, text):
    assert event_text("config.update", {"keys": before}, {"keys": after}, ALICE) == (
        f"{text} by user {ALICE}"
    )


def test_release_deploy():
    after = {"version": 7, "image": "registry.local/shop:1.2"}
    assert event_text("release.deploy", {}, after, ALICE) == (
        f"Deployed registry.local/shop:1.2 as v7 by user {ALICE}"
    )


def test_release_rollback():
    assert event_text("release.rollback", {}, {"version": 9, "to": 4}, ALICE) == (
        f"Rolled back to v4 as v9 by user {ALICE}"
    )


@pytest.mark.parametrize(
    ("target", "text"),
    [("all", "Restarted all dynos"), ("web", "Restarted web dynos"), ("web.2", "Restarted web.2")],
)
def test_dyno_restart(target, text):
    assert event_text("dyno.restart", {}, {"target": target}, ALICE) == f"{text} by user {ALICE}"


def test_autoscale_update_on_and_off():
    before = {"min": None, "max": None, "process": "web"}
    assert event_text("autoscale.update", before, {"min": 2, "max": 5}, ALICE) == (
        f"Autoscaling web between 2 and 5 dynos by user {ALICE}"
    )
    before = {"min": 2, "max": 5, "process": "worker"}
    assert event_text("autoscale.update", before, {"min": None, "max": None}, ALICE) == (
        f"Autoscaling worker off by user {ALICE}"
    )


def test_process_settings():
    before = {"healthcheck": "none", "process": "web"}
    after = {"healthcheck": "http", "healthcheck_path": "/up"}
    assert event_text("process.settings", before, after, ALICE) == (
        f"Updated settings of web by user {ALICE}"
    )


def test_drift_repair_has_no_actor():
    after = {"paths": ["Deployment/web"], "release": 3}
    assert event_text("drift.repair", {"changed": 1}, after, None) == (
        "Repaired drift on the cluster"
    )


def test_app_destroy():
    before = {"name": "shop", "team": "acme"}
    assert event_text("app.destroy", before, {}, ALICE) == f"Destroyed app by user {ALICE}"


def test_unknown_action_is_named():
    assert event_text("domain.add", {}, {"host": "x"}, ALICE) == f"domain.add by user {ALICE}"
    assert event_text("domain.add", {}, {}, None) == "domain.add"


@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        ("app.create", {}, {"name": "shop", "team": "acme"}),
        ("release.rollback", {}, {"version": 2, "to": 1}),
        ("dyno.restart", {}, {"target": "all"}),
        ("app.destroy", {}, {}),
    ],
)
def test_no_actor_omits_the_user(action, before, after):
    text = event_text(action, before, after, None)
    assert "by user" not in text
    assert text == event_text(action, before, after, "x").removesuffix(" by user x")


def test_registry_logins_name_the_registry_and_never_a_password():
    after = {"registry": "ghcr.io", "scope": "team", "username": "bot"}
    assert (
        event_text("registry.set", {}, after, ALICE)
        == f"Set the team's login to ghcr.io as bot by user {ALICE}"
    )
    removed = {"registry": "ghcr.io", "scope": "app"}
    assert (
        event_text("registry.remove", {}, removed, ALICE)
        == f"Removed the app's login to ghcr.io by user {ALICE}"
    )
