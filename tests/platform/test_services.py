from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.platform.encryption import app_config, unseal_all
from apps.platform.models import Activity, App, ConfigVar, Operation, ProcessType, Release
from apps.platform.services import (
    ProcessChange,
    app_create,
    config_update,
    formation_update,
    release_deploy,
    release_rollback,
)


def test_app_create_makes_v1_in_its_own_namespace(app, alice):
    assert app.namespace == "app-billing"
    assert [r.version for r in app.releases.all()] == [1]
    assert app.operations.get().kind == Operation.Kind.CREATE
    assert Activity.objects.get(app=app).actor == alice


def test_app_names_are_unique_and_nothing_is_stored_twice(app, alice, team):
    with pytest.raises(ValidationError, match="already taken"):
        app_create(actor=alice, team=team, name="billing")
    assert App.objects.count() == 1


def test_invalid_app_name_stores_nothing(alice, team):
    with pytest.raises(ValidationError):
        app_create(actor=alice, team=team, name="Bad_Name")
    assert not App.objects.exists()
    assert not Release.objects.exists()


def test_deploy_creates_the_next_release_with_the_image(app, alice):
    release = release_deploy(actor=alice, app=app, image="registry.example.com/billing:v1")

    assert release.version == 2
    assert release.image == "registry.example.com/billing:v1"
    assert app.operations.filter(kind=Operation.Kind.DEPLOY, release=release).exists()


def test_malformed_image_is_rejected_without_a_release(app, alice):
    with pytest.raises(ValidationError, match="not an image reference"):
        release_deploy(actor=alice, app=app, image="not an image")
    assert app.releases.count() == 1


def test_config_set_and_unset_make_releases_keeping_the_image(app, alice):
    release_deploy(actor=alice, app=app, image="example.com/billing:v1")

    set_release = config_update(actor=alice, app=app, changes={"A": "1", "B": "2"})
    unset_release = config_update(actor=alice, app=app, changes={"A": None})

    assert unseal_all(app, set_release.config) == {"A": "1", "B": "2"}
    assert set_release.description == "Set A, B config vars"
    assert unseal_all(app, unset_release.config) == {"B": "2"}
    assert unset_release.description == "Unset A config vars"
    assert unset_release.image == "example.com/billing:v1"
    assert app_config(app) == {"B": "2"}
    audit = Activity.objects.filter(action="config.update").first()
    assert "2" not in str(audit.after), "config values never reach the audit trail"


def test_one_bad_config_var_stores_none_of_the_batch(app, alice):
    with pytest.raises(ValidationError, match="not a valid config var name"):
        config_update(actor=alice, app=app, changes={"GOOD": "1", "bad-key": "2"})
    assert not ConfigVar.objects.exists()
    assert app.releases.count() == 1


def test_formation_update_creates_and_scales_process_types(app, alice):
    formation_update(
        actor=alice,
        app=app,
        changes=[
            ProcessChange("web", quantity=3, command="gunicorn app"),
            ProcessChange("worker", 1),
        ],
    )
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", size="standard-2x")])

    processes = {p.name: p for p in ProcessType.objects.filter(app=app).select_related("size")}
    assert (processes["web"].quantity, processes["web"].size.name) == (3, "standard-2x")
    assert (processes["worker"].quantity, processes["worker"].size.name) == (1, "basic")
    # A changed command is a new release; a changed quantity or size is not.
    assert [r.description for r in app.releases.all()] == [
        "Update process commands",
        "Initial release",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (ProcessChange("web", quantity=-1), "choose 0 to 100"),
        (ProcessChange("web", quantity=1000), "choose 0 to 100"),
        (ProcessChange("web", size="huge"), "Unknown dyno size 'huge'"),
        (ProcessChange("Web!", quantity=1), "not a valid process type"),
    ],
)
def test_bad_formation_changes_store_nothing(app, alice, change, message):
    with pytest.raises(ValidationError, match=message):
        formation_update(actor=alice, app=app, changes=[ProcessChange("worker", 2), change])
    assert not ProcessType.objects.exists()


def test_rollback_restores_image_and_config_as_a_new_release(app, alice):
    release_deploy(actor=alice, app=app, image="example.com/billing:v1")
    target = config_update(actor=alice, app=app, changes={"MODE": "old"})
    release_deploy(actor=alice, app=app, image="example.com/billing:v2")
    config_update(actor=alice, app=app, changes={"MODE": "new", "EXTRA": "1"})
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", 4)])

    rollback = release_rollback(actor=alice, app=app, version=target.version)

    assert rollback.version == 6
    assert rollback.image == "example.com/billing:v1"
    assert unseal_all(app, rollback.config) == {"MODE": "old"}
    assert rollback.description == f"Rollback to v{target.version}"
    assert app_config(app) == {"MODE": "old"}
    assert app.process_types.get(name="web").quantity == 4, "formation is untouched"


def test_rollback_to_a_missing_release_is_a_clear_error(app, alice):
    with pytest.raises(ValidationError, match="has no release v42"):
        release_rollback(actor=alice, app=app, version=42)
