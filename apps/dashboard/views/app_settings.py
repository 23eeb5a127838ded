"""An app's settings page: its name, maintenance mode, features, and destroying it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.dashboard.forms import DestroyForm, RenameForm
from apps.dashboard.views.common import Request, app_view, page
from apps.platform.features import APP_FEATURES, enabled
from apps.platform.models import App
from apps.platform.permissions import MANAGE, require
from apps.platform.services import app_destroy, app_maintenance, app_rename, feature_set


def settings_page(
    request: Request,
    app: App,
    *,
    form: RenameForm | None = None,
    destroy_form: DestroyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "app": app,
        "form": form or RenameForm(initial={"name": app.name}),
        "destroy_form": destroy_form or DestroyForm(app_name=app.name),
        "features": [(f, enabled(app.features, f.name)) for f in APP_FEATURES.values()],
    }
    return page(request, "dashboard/app_settings.html", context, status=status)


@app_view
def settings(request: Request, app: App) -> HttpResponse:
    return settings_page(request, app)


@require_POST
@app_view
def rename(request: Request, app: App) -> HttpResponse:
    require(request.user, app, MANAGE)
    form = RenameForm(request.POST)
    if form.is_valid():
        name = form.cleaned_data["name"]
        try:
            app_rename(actor=request.user, app=app, name=name)
        except ValidationError as error:
            form.add_service_error(error, "name")
        else:
            messages.success(request, f"{app.name} is now {name}.")
            return redirect("dashboard:settings", name)
    return settings_page(request, app, form=form, status=400)


@require_POST
@app_view
def maintenance(request: Request, app: App) -> HttpResponse:
    require(request.user, app, MANAGE)
    on = request.POST.get("maintenance") == "on"
    app_maintenance(actor=request.user, app=app, enabled=on)
    messages.success(request, f"Maintenance mode is {'on' if on else 'off'}.")
    return redirect("dashboard:settings", app.name)


@require_POST
@app_view
def feature(request: Request, app: App, feature: str) -> HttpResponse:
    require(request.user, app, MANAGE)
    on = request.POST.get("enabled") == "on"
    try:
        feature_set(actor=request.user, app=app, name=feature, enable=on)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{feature} is {'on' if on else 'off'}.")
    return redirect("dashboard:settings", app.name)


@require_POST
@app_view
def destroy(request: Request, app: App) -> HttpResponse:
    require(request.user, app, MANAGE)
    form = DestroyForm(request.POST, app_name=app.name)
    if not form.is_valid():
        return settings_page(request, app, destroy_form=form, status=400)
    app_destroy(actor=request.user, app=app)
    messages.success(request, f"{app.name} is destroyed.")
    return redirect("dashboard:index")
