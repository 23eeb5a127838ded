"""Registry logins of an app, set and removed from its deploy page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.dashboard.forms import RegistryLoginForm
from apps.dashboard.views.common import Request, app_view
from apps.dashboard.views.releases import deploy_page
from apps.platform.models import App
from apps.platform.permissions import MANAGE, require
from apps.platform.registries import registry_login_remove, registry_login_set


@require_POST
@app_view
def registry_set(request: Request, app: App) -> HttpResponse:
    require(request.user, app, MANAGE)
    form = RegistryLoginForm(request.POST)
    if form.is_valid():
        try:
            registry_login_set(actor=request.user, app=app, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Saved the login to {form.cleaned_data['registry']}.")
            return redirect("dashboard:deploy", app.name)
    return deploy_page(request, app, login_form=form)


@require_POST
@app_view
def registry_remove(request: Request, app: App) -> HttpResponse:
    require(request.user, app, MANAGE)
    registry = request.POST.get("registry", "")
    # Postgres refuses a NUL in a query, and no registry's name holds one.
    if "\x00" not in registry and registry_login_remove(
        actor=request.user, app=app, registry=registry
    ):
        messages.success(request, f"Removed the login to {registry}.")
    else:
        messages.error(request, f"{app.name} has no login of its own to {registry[:80]}.")
    return redirect("dashboard:deploy", app.name)
