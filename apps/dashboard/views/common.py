"""What every dashboard view shares: the typed request, the app lookup, and the htmx-or-page
response."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseForbidden
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails

from apps.platform.models import App
from apps.platform.permissions import app_for, app_permissions, is_site_admin

P = ParamSpec("P")


class Request(HttpRequest):
    htmx: HtmxDetails
    user: User


AppView = Callable[Concatenate[Request, App, P], HttpResponseBase]


def app_view(view: AppView[P]) -> Callable[Concatenate[Request, str, P], HttpResponseBase]:
    """Signs in, then finds the app among the user's own: any other name is a 404."""

    @login_required
    @wraps(view)
    def wrapper(request: Request, name: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        return view(request, app_for(request.user, name), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def site_admin_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @login_required
    @wraps(view)
    def wrapper(request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_site_admin(request.user):
            return HttpResponseForbidden("Only site administrators can see this page.")
        return view(request, *args, **kwargs)

    return wrapper


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    partial: str = "",
    status: int = 200,
) -> HttpResponse:
    """The whole page, or on an htmx request only the named partial that it swaps. A history
    restore (htmx's cache missed on back) gets the whole page, which it puts in place."""
    htmx = request.htmx
    if partial and htmx and not htmx.boosted and not htmx.history_restore_request:
        template = f"{template}#{partial}"
    if isinstance(context.get("app"), App) and "can" not in context:
        # What the user may do here, so the page offers only that (the views check again).
        context = context | {"can": app_permissions(request.user, context["app"])}
    response = render(request, template, context, status=status)
    # The same URL answers a page or a fragment: whatever caches it must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response
