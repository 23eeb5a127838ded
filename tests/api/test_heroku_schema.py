"""Our responses against Heroku's published schema of the same objects (fields and types), so
clients written for Heroku read them as they would read Heroku's."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.utils import timezone

from apps.api.tokens import token_create
from apps.platform.models import App, Dyno
from apps.platform.services import app_create, config_update, release_deploy

pytestmark = pytest.mark.django_db
HEROKU = "application/vnd.heroku+json; version=3"
SCHEMA = json.loads((Path(__file__).parent / "heroku-platform-schema.json").read_text())


# Fields and types, not patterns: Heroku's name its own hosts (git.heroku.com, ...).
FieldsAndTypes = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft4Validator, {"pattern": lambda *args: iter(())}
)


def conforms(data: Any, definition: str) -> None:
    schema = {"$ref": f"#/definitions/{definition}", "definitions": SCHEMA["definitions"]}
    FieldsAndTypes(schema).validate(data)


@pytest.fixture
def get(client, bob, team):
    app = app_create(actor=bob, team=team, name="billing")
    release_deploy(
        actor=bob,
        app=app,
        image="registry.example.com/shop:v1",
        commands={"web": "serve", "worker": "work"},
    )
    config_update(actor=bob, app=app, changes={"A": "1"})
    Dyno.objects.create(
        app=app,
        process_type="web",
        number=1,
        pod_name="billing-web-1",
        release=3,
        pod_uid="0b5c2d4e-1f00-4a7b-9c1d-2e3f4a5b6c7d",
        state="up",
        created=timezone.now(),
    )
    token = token_create(user=bob, name="schema")[1]

    def request(path: str, method: str = "GET", body: Any = None, **headers: str) -> Any:
        response = client.generic(
            method,
            path,
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers={"Accept": HEROKU, "Authorization": f"Bearer {token}", **headers},
        )
        assert response.status_code < 300, response.content
        return json.loads(response.content)

    return request


@pytest.mark.parametrize(
    ("path", "definition"),
    [
        ("/account", "account"),
        ("/apps/billing", "app"),
        ("/apps/billing/formation/web", "formation"),
        ("/apps/billing/dynos/web.1", "dyno"),
        ("/apps/billing/releases/3", "release"),
        ("/apps/billing/config-vars", "config-var"),
        ("/apps/billing/collaborators/bob@example.org", "collaborator"),
    ],
)
def test_each_object_conforms(get, path, definition):
    conforms(get(path), definition)


@pytest.mark.parametrize(
    ("path", "definition"),
    [
        ("/apps", "app"),
        ("/apps/billing/formation", "formation"),
        ("/apps/billing/dynos", "dyno"),
        ("/apps/billing/releases", "release"),
        ("/apps/billing/collaborators", "collaborator"),
    ],
)
def test_each_list_conforms(get, path, definition):
    items = get(path)
    assert items
    for item in items:
        conforms(item, definition)


def test_created_objects_conform(get):
    conforms(get("/apps", "POST", {"name": "shop"}), "app")
    conforms(get("/apps/billing/log-sessions", "POST", {"lines": 5}), "log-session")
    conforms(get("/apps/billing/releases", "POST", {"release": "2"}), "release")


def test_the_login_token_conforms(client, get):
    basic = base64.b64encode(b"bob@example.org:bob password 1").decode()
    response = client.post(
        "/oauth/authorizations",
        "{}",
        content_type="application/json",
        headers={"Accept": HEROKU, "Authorization": f"Basic {basic}"},
    )
    conforms(json.loads(response.content), "oauth-authorization")


def test_the_check_would_catch_a_wrong_type(get):
    app = get("/apps/billing")
    app["maintenance"] = "no"
    with pytest.raises(jsonschema.ValidationError):
        conforms(app, "app")
    assert App.objects.filter(name="billing").exists()
