"""OAuth authorizations, as the heroku CLI knows them: the user's API tokens. `heroku login -i`
makes one with email and password; `heroku authorizations[:create|info|revoke|rotate]` list,
make, show, delete and renew them with a token. A token's secret is shown only when it is made or
rotated: only its SHA-256 is stored."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from apps.api import shapes
from apps.api.errors import ApiError
from apps.api.http import ApiRequest, api_view, basic_user, bearer_user, respond
from apps.api.models import ApiToken
from apps.api.tokens import token_create, token_rotate
from apps.platform.validators import ascii_int


def _shape(token: ApiToken, user: Any, secret: str | None = None) -> dict[str, Any]:
    expires_in = None
    if token.expires is not None:
        expires_in = max(0, int((token.expires - timezone.now()).total_seconds()))
    return {
        "id": str(token.pk),
        "description": token.name,
        "scope": ["global"],
        "access_token": {"id": str(token.pk), "token": secret, "expires_in": expires_in},
        "client": None,
        "grant": None,
        "refresh_token": None,
        "session": None,
        "user": {**(shapes.user(user) or {}), "full_name": user.get_full_name()},
        "created_at": token.created.isoformat(),
        "updated_at": (token.last_used or token.created).isoformat(),
    }


def _signed_in(request: ApiRequest) -> Any:
    """A token's user (the CLI's own calls), else an email and password (`heroku login -i`),
    throttled per account and per client as every sign-in is (django-axes)."""
    user = bearer_user(request)
    if user is not None:
        return user
    user = basic_user(request)
    if getattr(request, "axes_locked_out", False):
        raise ApiError(429, "rate_limit", "Too many failed sign-ins: wait a few minutes and retry.")
    if user is None:
        raise ApiError(401, "unauthorized", "Invalid credentials provided.")
    return user


def _expires_in(value: Any) -> int | None:
    """The CLI sends `--expires-in` as it was typed: a number, or a string of one."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = ascii_int(value.strip(), 10)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 10 * 365 * 86400:
        raise ApiError(422, "invalid_params", "expires_in must be a number of seconds.")
    return value


@api_view("GET", "POST", authenticated=False)
def authorizations(request: ApiRequest) -> Any:
    user = _signed_in(request)
    if request.method == "GET":
        return [_shape(t, user) for t in ApiToken.objects.filter(user=user).order_by("name")]
    description = request.data.get("description") or "heroku CLI"
    if not isinstance(description, str):
        raise ApiError(422, "invalid_params", "description must be a string.")
    expires_in = _expires_in(request.data.get("expires_in"))
    token, secret = token_create(user=user, name=description, expires_in=expires_in)
    return respond(_shape(token, user, secret), status=201)


def _token(request: ApiRequest, token: str) -> ApiToken:
    user: Any = request.user  # signed in: api_view checked the token
    found = (
        ApiToken.objects.filter(user=user, pk=number).first()
        if (number := ascii_int(token))
        else None
    )
    if found is None:
        raise ApiError(404, "not_found", "Couldn't find that authorization.")
    return found


@api_view("GET", "DELETE")
def authorization(request: ApiRequest, token: str) -> Any:
    found = _token(request, token)
    if request.method == "DELETE":
        shaped = _shape(found, request.user)
        found.delete()
        return shaped
    return _shape(found, request.user)


@api_view("POST")
def authorization_rotate(request: ApiRequest, token: str) -> Any:
    found = _token(request, token)
    secret = token_rotate(found)
    found.refresh_from_db()
    return _shape(found, request.user, secret)
