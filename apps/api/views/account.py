from __future__ import annotations

from typing import Any

from apps.api import shapes
from apps.api.errors import ApiError
from apps.api.http import ApiRequest, api_view, basic_user, respond
from apps.api.openapi import document
from apps.api.throttle import login_allowed, login_failed
from apps.api.tokens import token_create


@api_view("GET")
def account(request: ApiRequest) -> Any:
    return shapes.account(request.user)


@api_view("POST", authenticated=False)
def authorizations(request: ApiRequest) -> Any:
    """`heroku login -i`: email and password (Basic) in, a new API token out."""
    client = request.META.get("REMOTE_ADDR", "")
    if not login_allowed(client):
        raise ApiError(429, "rate_limit", "Too many failed sign-ins: wait a minute and retry.")
    user = basic_user(request)
    if user is None:
        login_failed(client)
        raise ApiError(401, "unauthorized", "Invalid credentials provided.")
    description = str(request.data.get("description") or "heroku CLI")
    expires_in = request.data.get("expires_in")
    token, secret = token_create(
        user=user, name=description,
        expires_in=expires_in if isinstance(expires_in, int) and expires_in > 0 else None,
    )  # fmt: skip
    body = {
        "id": str(token.pk), "description": token.name, "scope": ["global"],
        "access_token": {"id": str(token.pk), "token": secret,
                         "expires_in": expires_in if isinstance(expires_in, int) else None},
        "user": {**(shapes.user(user) or {}), "full_name": user.get_full_name()},
        "created_at": token.created.isoformat(), "updated_at": token.created.isoformat(),
    }  # fmt: skip
    return respond(body, status=201)


@api_view("GET", "POST", "PATCH", "PUT", "DELETE", authenticated=False)
def unknown(request: ApiRequest) -> Any:
    raise ApiError(404, "not_found", f"This server does not serve {request.path[:100]}.")


@api_view("GET", authenticated=False)
def openapi(request: ApiRequest) -> Any:
    return document(request.build_absolute_uri("/api").rstrip("/"))
