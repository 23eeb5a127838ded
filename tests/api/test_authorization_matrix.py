"""Every endpoint and page, for every kind of user, with the exact status expected. An app of
another team answers exactly as an app that does not exist: nothing leaks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.api.tokens import token_create
from apps.platform.models import Collaborator, Membership, Team
from apps.platform.services import app_create, config_update, release_deploy

pytestmark = pytest.mark.django_db
HEROKU = "application/vnd.heroku+json; version=3"
ROLES = ("anonymous", "viewer", "member", "team_admin", "other_admin", "site_admin")


def _row(anonymous: int, viewer: int, member: int, admin: int, other: int, site: int) -> Any:
    return dict(zip(ROLES, (anonymous, viewer, member, admin, other, site), strict=True))


# (method, path, body, expected per role); the member may deploy and operate, not manage.
API = [
    ("GET", "/apps", None, _row(401, 200, 200, 200, 200, 200)),
    ("GET", "/account", None, _row(401, 200, 200, 200, 200, 200)),
    ("GET", "/apps/billing", None, _row(401, 200, 200, 200, 404, 200)),
    ("PATCH", "/apps/billing", {"maintenance": True}, _row(401, 403, 403, 200, 404, 200)),
    ("DELETE", "/apps/billing", None, _row(401, 403, 403, 200, 404, 200)),
    ("GET", "/apps/billing/formation", None, _row(401, 200, 200, 200, 404, 200)),
    (
        "PATCH",
        "/apps/billing/formation",
        {"updates": [{"type": "web", "quantity": 2}]},
        _row(401, 403, 200, 200, 404, 200),
    ),
    ("PATCH", "/apps/billing/formation/web", {"quantity": 2}, _row(401, 403, 200, 200, 404, 200)),
    ("GET", "/apps/billing/dynos", None, _row(401, 200, 200, 200, 404, 200)),
    ("DELETE", "/apps/billing/dynos", None, _row(401, 403, 202, 202, 404, 202)),
    ("DELETE", "/apps/billing/formations/web", None, _row(401, 403, 202, 202, 404, 202)),
    ("GET", "/apps/billing/config-vars", None, _row(401, 403, 200, 200, 404, 200)),
    ("PATCH", "/apps/billing/config-vars", {"X": "1"}, _row(401, 403, 403, 200, 404, 200)),
    ("GET", "/apps/billing/releases", None, _row(401, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/releases/1", None, _row(401, 200, 200, 200, 404, 200)),
    ("POST", "/apps/billing/releases", {"release": "1"}, _row(401, 403, 201, 201, 404, 201)),
    (
        "POST",
        "/apps/billing/releases",
        {"oci_image": "registry.example.com/a:b"},
        _row(401, 403, 201, 201, 404, 201),
    ),
    ("GET", "/apps/billing/collaborators", None, _row(401, 200, 200, 200, 404, 200)),
    (
        "POST",
        "/apps/billing/collaborators",
        {"user": "eve@example.org"},
        _row(401, 403, 403, 201, 404, 201),
    ),
    (
        "POST",
        "/teams/apps/billing/collaborators",
        {"user": "eve@example.org", "permissions": ["view"]},
        _row(401, 403, 403, 201, 404, 201),
    ),
    (
        "DELETE",
        "/apps/billing/collaborators/member@example.org",
        None,
        _row(401, 403, 403, 200, 404, 200),
    ),
    ("POST", "/apps/billing/log-sessions", {"lines": 1}, _row(401, 201, 201, 201, 404, 201)),
    ("GET", "/apps/billing/addons", None, _row(401, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/domains", None, _row(401, 200, 200, 200, 404, 200)),
    ("GET", "/teams/acme/members", None, _row(401, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/registry-credentials", None, _row(401, 403, 200, 200, 404, 200)),
    (
        "PUT",
        "/apps/billing/registry-credentials/ghcr.io",
        {"username": "bot", "password": "hunter2"},
        _row(401, 403, 403, 200, 404, 200),
    ),
    ("GET", "/teams/acme/registry-credentials", None, _row(401, 403, 403, 200, 404, 200)),
    (
        "PUT",
        "/teams/acme/registry-credentials/ghcr.io",
        {"username": "bot", "password": "hunter2"},
        _row(401, 403, 403, 200, 404, 200),
    ),
    ("GET", "/teams/acme/features", None, _row(401, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/features", None, _row(401, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/features/preboot", None, _row(401, 200, 200, 200, 404, 200)),
    (
        "PATCH",
        "/apps/billing/features/preboot",
        {"enabled": False},
        _row(401, 403, 403, 200, 404, 200),
    ),
    ("PATCH", "/apps/billing", {"name": "billing-2"}, _row(401, 403, 403, 200, 404, 200)),
    ("GET", "/account/features", None, _row(401, 200, 200, 200, 200, 200)),
]

# Pages: anonymous users are sent to sign in (302); writes redirect (302) when they succeed.
PAGES = [
    ("GET", "/", None, _row(302, 200, 200, 200, 200, 200)),
    ("GET", "/apps/billing/", None, _row(302, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/rollout", None, _row(302, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/config", None, _row(302, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/config/SECRET", None, _row(302, 403, 200, 200, 404, 200)),
    (
        "POST",
        "/apps/billing/config/set",
        {"key": "X", "value": "1"},
        _row(302, 403, 403, 302, 404, 302),
    ),
    ("POST", "/apps/billing/config/unset", {"key": "SECRET"}, _row(302, 403, 403, 302, 404, 302)),
    (
        "POST",
        "/apps/billing/scale",
        {"process": "web", "quantity": "2"},
        _row(302, 403, 302, 302, 404, 302),
    ),
    ("POST", "/apps/billing/restart", {"target": "web"}, _row(302, 403, 302, 302, 404, 302)),
    ("POST", "/apps/billing/autoscale", {"process": "web"}, _row(302, 403, 302, 302, 404, 302)),
    ("GET", "/apps/billing/releases", None, _row(302, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/releases/1..2", None, _row(302, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/releases/1/rollback", None, _row(302, 403, 200, 200, 404, 200)),
    ("POST", "/apps/billing/releases/1/rollback", {}, _row(302, 403, 302, 302, 404, 302)),
    ("GET", "/apps/billing/deploy", None, _row(302, 403, 200, 200, 404, 200)),
    (
        "POST",
        "/apps/billing/registries",
        {"registry": "ghcr.io", "username": "bot", "password": "hunter2"},
        _row(302, 403, 403, 302, 404, 302),
    ),
    (
        "POST",
        "/apps/billing/deploy",
        {"image": "registry.example.com/a:b"},
        _row(302, 403, 302, 302, 404, 302),
    ),
    ("GET", "/apps/billing/logs", None, _row(302, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/activity", None, _row(302, 200, 200, 200, 404, 200)),
    ("GET", "/apps/billing/access", None, _row(302, 200, 200, 200, 404, 200)),
    (
        "POST",
        "/apps/billing/access",
        {"user": "eve@example.org", "permissions": ["deploy"]},
        _row(302, 403, 403, 302, 404, 302),
    ),
    ("POST", "/apps/billing/destroy", {"confirm": "billing"}, _row(302, 403, 403, 302, 404, 302)),
    ("GET", "/apps/billing/settings", None, _row(302, 200, 200, 200, 404, 200)),
    (
        "POST",
        "/apps/billing/settings/rename",
        {"name": "billing-2"},
        _row(302, 403, 403, 302, 404, 302),
    ),
    (
        "POST",
        "/apps/billing/settings/maintenance",
        {"maintenance": "on"},
        _row(302, 403, 403, 302, 404, 302),
    ),
    (
        "POST",
        "/apps/billing/settings/features/preboot",
        {"enabled": "off"},
        _row(302, 403, 403, 302, 404, 302),
    ),
    ("GET", "/teams", None, _row(302, 200, 200, 200, 200, 200)),
    ("GET", "/teams/acme", None, _row(302, 200, 200, 200, 404, 200)),
    (
        "POST",
        "/teams/acme",
        {"user": "eve@example.org", "role": "member"},
        _row(302, 403, 403, 302, 404, 302),
    ),
    ("POST", "/teams/acme/quotas", {"quota_dynos": "9"}, _row(302, 403, 403, 403, 403, 302)),
    ("GET", "/fleet", None, _row(302, 403, 403, 403, 403, 200)),
    ("GET", "/activity", None, _row(302, 403, 403, 403, 403, 200)),
    ("GET", "/sizes", None, _row(302, 403, 403, 403, 403, 200)),
    ("GET", "/account/tokens", None, _row(302, 200, 200, 200, 200, 200)),
]


@pytest.fixture
def users() -> dict[str, Any]:
    team, other = Team.objects.create(name="acme"), Team.objects.create(name="globex")
    made: dict[str, Any] = {"anonymous": None}
    for role in ROLES[1:]:
        # No password: these users sign in with tokens and sessions, and hashing is slow.
        made[role] = User.objects.create_user(
            role, f"{role}@example.org", is_superuser=role == "site_admin"
        )
    Membership.objects.create(team=team, user=made["viewer"], role="member")
    Membership.objects.create(team=team, user=made["member"], role="member")
    Membership.objects.create(team=team, user=made["team_admin"], role="admin")
    Membership.objects.create(team=other, user=made["other_admin"], role="admin")
    User.objects.create_user("eve", "eve@example.org")
    app = app_create(actor=made["team_admin"], team=team, name="billing")
    release_deploy(
        actor=made["team_admin"],
        app=app,
        image="registry.example.com/shop:v1",
        commands={"web": "serve"},
    )
    config_update(actor=made["team_admin"], app=app, changes={"SECRET": "hunter2"})
    Collaborator.objects.create(
        app=app, user=made["member"], permissions=["view", "deploy", "operate"]
    )
    return made


def _cases(table: list[Any]) -> list[Any]:
    return [
        pytest.param(method, path, body, role, expected[role], id=f"{method} {path} as {role}")
        for method, path, body, expected in table
        for role in ROLES
    ]


@pytest.mark.parametrize(("method", "path", "body", "role", "status"), _cases(API))
def test_api(client: Client, users, method, path, body, role, status):
    headers = {"Accept": HEROKU}
    if users[role] is not None:
        headers["Authorization"] = f"Bearer {token_create(user=users[role], name='m')[1]}"
    response = client.generic(
        method,
        path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == status, response.content[:300]
    if status >= 400:
        assert set(json.loads(response.content)) == {"id", "message"}
    if role == "other_admin":
        assert b"billing" not in response.content
        assert b"hunter2" not in response.content


@pytest.mark.parametrize(("method", "path", "body", "role", "status"), _cases(PAGES))
def test_pages(client: Client, users, method, path, body, role, status):
    if users[role] is not None:
        client.force_login(users[role])
    response = client.get(path) if method == "GET" else client.post(path, body or {})
    assert response.status_code == status, response.content[:300]
    if role == "anonymous":
        assert response["Location"].startswith("/login/")
    if role in ("other_admin", "viewer") or status >= 400:
        assert b"hunter2" not in response.content
    if role == "other_admin" and path != "/":
        assert b"billing" not in response.content
