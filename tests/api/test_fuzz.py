"""Generated requests against every operation of our OpenAPI description: bodies that follow
the request schemas and bodies that do not, odd path values. Never a 500; errors always
`{id, message}`; successes match the described response."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import jsonschema
import pytest
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.api.openapi import BODIES, OPERATIONS, document
from apps.api.tokens import token_create
from apps.platform.models import App, Team
from apps.platform.services import app_create, release_deploy
from tests.helpers import HOSTILE

pytestmark = pytest.mark.django_db
HEROKU = "application/vnd.heroku+json; version=3"
EXAMPLES_PER_OPERATION = 120
SENT: Counter[str] = Counter()

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
PATH_VALUES = {
    "app": st.sampled_from(["billing", "nope", "BILLING", "0" * 36])
    | HOSTILE
    | st.text(max_size=40),
    "type": st.sampled_from(["web", "worker", "nope"]) | HOSTILE | st.text(max_size=20),
    "dyno": st.sampled_from(["web.1", "web", "worker.2", "x.y", "web.\u00b2", "web." + "9" * 400])
    | HOSTILE
    | st.text(max_size=20),
    "release": st.sampled_from(["1", "2", "99", "-1", "0" * 36]) | HOSTILE | st.text(max_size=40),
    "user": st.sampled_from(["~", "bob@example.org", "nobody"]) | HOSTILE | st.text(max_size=40),
    "team": st.sampled_from(["acme", "globex", "nope"]) | HOSTILE | st.text(max_size=40),
    "registry": st.sampled_from(["ghcr.io", "registry.example.com:5000", "nope", "a" * 300])
    | st.text(max_size=40),
    "feature": st.sampled_from(["preboot", "runtime-dyno-metadata", "nope"])
    | HOSTILE
    | st.text(max_size=40),
}


@pytest.fixture
def world(client: Client, bob: User) -> tuple[Client, str]:
    return client, token_create(user=bob, name="fuzz")[1]


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that follow one of our (simple) request schemas; odd values inside it too."""
    kinds = schema.get("type", "object")
    if isinstance(kinds, list):
        return st.one_of([from_schema({**schema, "type": kind}) for kind in kinds])
    if kinds == "object":
        properties = {k: from_schema(v) for k, v in schema.get("properties", {}).items()}
        required = set(schema.get("required", ()))
        extra = schema.get("additionalProperties")
        base = st.fixed_dictionaries(
            {k: v for k, v in properties.items() if k in required},
            optional={k: v for k, v in properties.items() if k not in required},
        )
        if extra:
            return st.dictionaries(st.text(max_size=12), from_schema(extra), max_size=5)
        return base
    if kinds == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=4)
    return {
        "string": st.text(max_size=30)
        | st.sampled_from(["web", "3", "+1", "-1", "standard-2x", "registry.example.com/a:b", "1"])
        | HOSTILE,
        "integer": st.integers(min_value=-5, max_value=2000) | st.just(10**400),
        "boolean": st.booleans(),
        "null": st.none(),
    }.get(kinds, JSON)


def _ensure_app() -> None:
    """Examples may destroy the app; each starts with it there, so most requests reach deep."""
    if not App.objects.filter(name="billing").exists():
        bob = User.objects.get(username="bob")
        app = app_create(actor=bob, team=Team.objects.get(name="acme"), name="billing")
        release_deploy(
            actor=bob,
            app=app,
            image="registry.example.com/shop:v1",
            commands={"web": "serve", "worker": "work"},
        )


def _path(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value.replace("/", "%2F").replace("?", "%3F"))
    return template


COMPONENTS = document("http://testserver/api")["components"]
CASES = [
    (path, method, body, schema, status)
    for path, methods in OPERATIONS.items()
    for method, (body, schema, status) in methods.items()
]


@pytest.mark.parametrize(("path", "method", "body", "schema", "status"), CASES)
def test_generated_requests_never_fail_the_server(world, path, method, body, schema, status):
    client, token = world
    names = [p[1:-1] for p in path.split("/") if p.startswith("{")]
    bodies = from_schema(BODIES[body]) | JSON if body else st.none() | JSON

    @settings(  # type: ignore[untyped-decorator]
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(  # type: ignore[untyped-decorator]
        values=st.fixed_dictionaries({n: PATH_VALUES[n] for n in names}), payload=bodies
    )
    def check(values: dict[str, str], payload: Any) -> None:
        _ensure_app()
        url = "/api" + _path(path, values)
        response = client.generic(
            method.upper(),
            url,
            json.dumps(payload) if payload is not None else "",
            content_type="application/json",
            headers={"Accept": HEROKU, "Authorization": f"Bearer {token}"},
        )
        SENT[f"{method} {path}"] += 1
        assert response.status_code < 500, (url, payload, response.content[:500])
        if response.get("Content-Type", "").startswith("text/event-stream"):
            return
        data = json.loads(response.content)
        if response.status_code >= 400:
            assert set(data) == {"id", "message"}, data
            assert data["message"]
        elif response.status_code == status:
            jsonschema.validate(data, {**schema, "components": COMPONENTS})

    check()
    assert SENT[f"{method} {path}"] >= EXAMPLES_PER_OPERATION


def test_the_openapi_document_is_served_and_lists_every_operation(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served["openapi"] == "3.1.0"
    assert set(served["paths"]) == set(OPERATIONS)
    assert sum(len(m) for m in served["paths"].values()) == len(CASES)
