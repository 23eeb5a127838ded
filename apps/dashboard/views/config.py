"""Config vars: values stay out of the page until one is revealed; every save is a new release."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.dashboard.forms import ConfigVarForm
from apps.dashboard.views.common import Request, app_view, page
from apps.platform.encryption import unseal
from apps.platform.models import App, Release
from apps.platform.permissions import MANAGE, require, require_config_values
from apps.platform.services import config_update
from apps.platform.validators import ascii_int

TEMPLATE = "dashboard/app_config.html"


def _render(
    request: Request,
    app: App,
    form: ConfigVarForm,
    *,
    release: Release | None = None,
    partial: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "app": app,
        "keys": list(app.config_vars.order_by("key").values_list("key", flat=True)),
        "form": form,
        "release": release,
    }
    return page(request, TEMPLATE, context, partial=partial, status=status)


@require_GET
@app_view
def config(request: Request, app: App) -> HttpResponse:
    # ?release=N is where a save without JavaScript lands: anything but a version shows no flash.
    version = ascii_int(request.GET.get("release", ""))
    release = app.releases.filter(version=version).first() if version is not None else None
    return _render(request, app, ConfigVarForm(), release=release)


@require_GET
@never_cache  # a config value: no browser or proxy cache may keep it
@app_view
def reveal(request: Request, app: App, key: str) -> HttpResponse:
    require_config_values(request.user, app)
    # Postgres refuses a NUL in a query, and no key holds one.
    var = app.config_vars.filter(key=key).first() if "\x00" not in key else None
    if var is None:
        raise Http404("No such config var")
    context = {"app": app, "key": var.key, "value": unseal(app, var.value)}
    return page(request, "dashboard/config_value.html", context)


def _saved(
    request: Request, app: App, form: ConfigVarForm, changes: dict[str, str | None]
) -> HttpResponse:
    release = None
    try:
        release = config_update(actor=request.user, app=app, changes=changes)
    except ValidationError as error:
        form.add_service_error(error)
    if release is not None and not request.htmx:
        return redirect(f"{reverse('dashboard:config', args=[app.name])}?release={release.version}")
    if release is not None:
        form = ConfigVarForm()
    status = 200 if request.htmx or release else 400
    return _render(request, app, form, release=release, partial="config", status=status)


@require_POST
@app_view
def config_set(request: Request, app: App) -> HttpResponse:
    require(request.user, app, MANAGE)
    form = ConfigVarForm(request.POST)
    if not form.is_valid():
        return _render(request, app, form, partial="config", status=200 if request.htmx else 400)
    return _saved(request, app, form, {form.cleaned_data["key"]: form.cleaned_data["value"]})


@require_POST
@app_view
def config_unset(request: Request, app: App) -> HttpResponse:
    require(request.user, app, MANAGE)
    key = request.POST.get("key", "")
    form = ConfigVarForm({"key": key})
    form.is_valid()  # binds cleaned_data, so a refusal below can be added to the form
    return _saved(request, app, form, {key: None})
