from __future__ import annotations

import pytest

from apps.platform.encryption import app_config
from apps.platform.models import Operation
from apps.platform.services import ProcessChange, config_update, formation_update, release_deploy

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(bob, app):
    release_deploy(actor=bob, app=app, image="registry.example.com/shop:v1")  # v2
    config_update(actor=bob, app=app, changes={"SECRET": "first-secret", "MODE": "a"})  # v3
    formation_update(actor=bob, app=app, changes=[ProcessChange("web", 1, command="serve")])  # v4
    release_deploy(actor=bob, app=app, image="registry.example.com/shop:v2")  # v5
    config_update(
        actor=bob, app=app, changes={"SECRET": "second-secret", "MODE": None, "NEW": "n"}
    )  # v6


def test_the_list_shows_who_when_and_what(bob_client, history):
    content = bob_client.get("/apps/billing/releases").content.decode()
    for version in range(1, 7):
        assert f'data-version="{version}"' in content
    assert "Deploy registry.example.com/shop:v2" in content
    assert content.count(">bob<") >= 5
    assert 'v6 <span class="badge">current</span>' in content


def test_the_diff_names_what_changed_without_secret_values(bob_client, history):
    content = bob_client.get("/apps/billing/releases/3..6").content.decode()
    image = 'shop:v1</del> → <ins class="mono">registry.example.com/shop:v2'
    assert image in content
    assert '<li class="diff-changed"><span class="mono">SECRET</span> changed' in content
    assert '<li class="diff-removed"><span class="mono">MODE</span> removed' in content
    assert '<li class="diff-added"><span class="mono">NEW</span> added' in content
    assert "first-secret" not in content
    assert "second-secret" not in content
    assert '<ins class="mono">serve</ins>' in content
    assert bob_client.get("/apps/billing/releases/3..99").status_code == 404


def test_rollback_asks_for_confirmation_then_restores(bob_client, app, history):
    confirm = bob_client.get("/apps/billing/releases/3/rollback")
    assert confirm.status_code == 200
    assert b"Roll back to v3?" in confirm.content
    assert app.releases.count() == 6
    done = bob_client.post("/apps/billing/releases/3/rollback")
    assert done.status_code == 302
    latest = app.releases.order_by("-version").first()
    assert (latest.version, latest.image) == (7, "registry.example.com/shop:v1")
    assert app_config(app) == {
        "SECRET": "first-secret",
        "MODE": "a",
    }
    assert app.operations.filter(kind=Operation.Kind.ROLLBACK, release=latest).exists()


def test_deploy_sets_a_new_image(bob_client, app):
    response = bob_client.post("/apps/billing/deploy", {"image": "registry.example.com/a/b:c"})
    assert response.status_code == 302
    assert app.releases.order_by("-version").first().image == "registry.example.com/a/b:c"


@pytest.mark.parametrize("image", ["Not An Image", "http://registry/x:y", "a" * 600, ""])
def test_deploy_refuses_a_malformed_image(bob_client, app, image):
    response = bob_client.post("/apps/billing/deploy", {"image": image})
    assert response.status_code == 400
    assert b'class="errorlist' in response.content
    assert app.releases.count() == 1


def test_deploy_with_a_procfile_creates_the_process_types_in_one_release(bob_client, app):
    procfile = "# comment\nweb: gunicorn app:app\n\nworker: celery -A app worker\n"
    response = bob_client.post(
        "/apps/billing/deploy", {"image": "registry.example.com/a/b:c", "procfile": procfile}
    )
    assert response.status_code == 302
    assert app.releases.count() == 2
    release = app.releases.order_by("-version").first()
    assert release.commands == {"web": "gunicorn app:app", "worker": "celery -A app worker"}
    formation = dict(app.process_types.values_list("name", "quantity"))
    assert formation == {"web": 1, "worker": 0}


@pytest.mark.parametrize(
    ("procfile", "message"),
    [
        ("web gunicorn", "Line 1 should read `name: command`"),
        ("web: a\nWeb!: b", "Line 2: &#x27;Web!&#x27; is not a valid process type"),
        ("web: a\nweb: b", "Line 2: web is listed twice"),
        ("web:", "Line 1 should read"),
    ],
)
def test_deploy_refuses_a_bad_procfile(bob_client, app, procfile, message):
    data = {"image": "registry.example.com/a/b:c", "procfile": procfile}
    response = bob_client.post("/apps/billing/deploy", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert app.releases.count() == 1
    assert not app.process_types.exists()


def test_registry_logins_are_set_listed_without_passwords_and_removed_on_the_deploy_page(
    bob_client, app
):
    saved = bob_client.post(
        "/apps/billing/registries",
        {"registry": "ghcr.io", "username": "bot", "password": "pa55-token"},
        follow=True,
    )
    assert "Saved the login to ghcr.io." in saved.content.decode()
    page = bob_client.get("/apps/billing/deploy").content.decode()
    assert '<th scope="row" class="mono">ghcr.io</th>' in page
    assert "pa55-token" not in page
    assert app.registry_credentials.get().password == "pa55-token"

    removed = bob_client.post("/apps/billing/registries/remove", {"registry": "ghcr.io"})
    assert removed.status_code == 302
    assert not app.registry_credentials.exists()


def test_a_bad_registry_login_is_shown_back_with_its_error_and_nothing_is_stored(bob_client, app):
    refused = bob_client.post(
        "/apps/billing/registries", {"registry": "no registry", "username": "u", "password": "p"}
    )
    assert refused.status_code == 400
    assert "is not a registry" in refused.content.decode()
    assert not app.registry_credentials.exists()
    assert not Operation.objects.filter(app=app, target="registry").exists()


def test_removing_a_login_named_with_a_nul_says_there_is_none(bob_client, app):
    """Postgres refuses a NUL in a query: the removal answered 500 (found by test_fuzz_forms)."""
    bob_client.post(
        "/apps/billing/registries", {"registry": "ghcr.io", "username": "bot", "password": "pw"}
    )
    page = bob_client.post(
        "/apps/billing/registries/remove", {"registry": "ghcr.io\x00"}, follow=True
    )
    assert "billing has no login of its own to ghcr.io" in page.content.decode()
    assert app.registry_credentials.get().registry == "ghcr.io"
