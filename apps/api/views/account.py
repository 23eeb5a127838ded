from __future__ import annotations

from typing import Any

from apps.api import shapes
from apps.api.errors import ApiError
from apps.api.heroku_only import heroku_only
from apps.api.http import ApiRequest, api_view
from apps.api.openapi import document


@api_view("GET")
def account(request: ApiRequest) -> Any:
    return shapes.account(request.user)


@api_view("GET", "POST", "PATCH", "PUT", "DELETE", authenticated=False)
def unknown(request: ApiRequest) -> Any:
    raise heroku_only(request.path) or ApiError(
        404, "not_found", f"This server does not serve {request.path[:100]}."
    )


@api_view("GET", authenticated=False)
def openapi(request: ApiRequest) -> Any:
    return document(request.build_absolute_uri("/api").rstrip("/"))
