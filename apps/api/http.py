"""How every API view is called: token authentication, a JSON body, errors in Heroku's shape,
and never a 500 for bad input."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from apps.api.errors import ApiError, invalid, not_found
from apps.api.tokens import user_for_token

HEROKU_MEDIA_TYPE = "application/vnd.heroku+json"
BODY_MAX = 256 * 1024


class ApiRequest(HttpRequest):
    data: dict[str, Any]


def bearer_user(request: HttpRequest) -> Any | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return user_for_token(credentials.strip())
    return None


def basic_user(request: HttpRequest) -> Any | None:
    """`heroku login -i` sends the email (or username) and password with Basic auth."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        login, _, password = base64.b64decode(credentials).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(email__iexact=login).first()
    username = user.get_username() if user else login
    return authenticate(request, username=username, password=password)


def _body(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    if len(request.body) > BODY_MAX:
        raise ApiError(413, "request_too_large", f"The body is over {BODY_MAX} bytes.")
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object.")
    return data


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False, headers=headers)
    response["Content-Type"] = "application/json; charset=utf-8"
    return response


def api_view(
    *methods: str, authenticated: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., HttpResponseBase]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., HttpResponseBase]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: ApiRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                if request.method not in methods:
                    raise ApiError(
                        405, "method_not_allowed", f"{request.method} is not allowed here."
                    )
                if authenticated:
                    user = bearer_user(request)
                    if user is None:
                        raise ApiError(401, "unauthorized", "Invalid credentials provided.")
                    request.user = user
                request.data = _body(request)
                result = view(request, *args, **kwargs)
            except ApiError as error:
                return error.response()
            except ValidationError as error:
                return invalid(" ".join(error.messages)).response()
            except Http404:
                return not_found("Not found.").response()
            except PermissionDenied as error:
                return ApiError(403, "forbidden", str(error) or "Not allowed.").response()
            response = result if isinstance(result, HttpResponseBase) else respond(result)
            # Config values, tokens and logs: nothing the API answers may be kept by a cache.
            add_never_cache_headers(response)
            return response

        return wrapper

    return decorator


class ApiRouting:
    """Requests that ask for Heroku's media type are the API's, whatever their path, so the
    heroku CLI can use the dashboard's own address as its HEROKU_HOST."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if HEROKU_MEDIA_TYPE in request.headers.get("Accept", ""):
            request.urlconf = "apps.api.urls"  # type: ignore[attr-defined]
        return self.get_response(request)
