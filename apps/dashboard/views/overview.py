"""The app's overview: its formation, changed from sliders and pickers, and the live rollout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from apps.dashboard.forms import AutoscaleForm, RestartForm, ScaleForm, ServiceForm
from apps.dashboard.selectors import Overview, app_overview
from apps.dashboard.views.common import Request, app_view, page
from apps.platform.models import App
from apps.platform.permissions import OPERATE, require
from apps.platform.services import (
    ProcessChange,
    autoscale_update,
    dyno_restart,
    formation_update,
)
from apps.platform.validators import QUANTITY_MAX

TEMPLATE = "dashboard/app_overview.html"


def _render(
    request: Request,
    app: App,
    *,
    partial: str = "",
    error_form: ServiceForm | None = None,
    overview: Overview | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "app": app,
        "overview": overview or app_overview(app),
        "quantity_max": QUANTITY_MAX,
        "error_form": error_form,
    }
    return page(request, TEMPLATE, context, partial=partial, status=status)


@require_GET
@app_view
def overview(request: Request, app: App) -> HttpResponse:
    return _render(request, app)


@require_GET
@app_view
def rollout(request: Request, app: App) -> HttpResponse:
    """Polled by the page while something is on its way; 286 stops the polling once settled."""
    state = app_overview(app)
    response = _render(request, app, partial="rollout", overview=state)
    if request.htmx and state.settled:
        response.status_code = HttpResponseStopPolling.status_code
    return response


def _attempt(form: ServiceForm, change: Callable[[], object]) -> None:
    """Carries out the change; a refusal from the service lands on the form, inline."""
    try:
        change()
    except ValidationError as error:
        form.add_service_error(error)


def _changed(request: Request, app: App, form: ServiceForm, done: str) -> HttpResponse:
    """After a change: htmx gets the formation and the rollout swapped in; a plain form post is
    redirected to the page, so reloading it never repeats the change."""
    if form.errors:
        if request.htmx:
            return _render(request, app, partial="formation", error_form=form)
        return _render(request, app, error_form=form, status=400)
    if request.htmx:
        return _render(request, app, partial="formation")
    messages.success(request, done)
    return redirect("dashboard:overview", app.name)


@require_POST
@app_view
def scale(request: Request, app: App) -> HttpResponse:
    require(request.user, app, OPERATE)
    form = ScaleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        # As the API answers: scaling names a process type the app has, it never makes one.
        if not app.process_types.filter(name=data["process"]).exists():
            form.add_error("process", f"{app.name} has no process type {data['process']}.")
            return _changed(request, app, form, "")
        change = ProcessChange(
            data["process"], quantity=data["quantity"], size=data["size"] or None
        )
        _attempt(form, lambda: formation_update(actor=request.user, app=app, changes=[change]))
    return _changed(request, app, form, "Scaling.")


@require_POST
@app_view
def autoscale(request: Request, app: App) -> HttpResponse:
    require(request.user, app, OPERATE)
    form = AutoscaleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        on = data["enabled"]
        _attempt(
            form,
            lambda: autoscale_update(
                actor=request.user,
                app=app,
                process=data["process"],
                minimum=data["minimum"] if on else None,
                maximum=data["maximum"] if on else None,
                cpu_percent=data["cpu_percent"] or 70,
            ),
        )
    return _changed(request, app, form, "Autoscaling updated.")


@require_POST
@app_view
def restart(request: Request, app: App) -> HttpResponse:
    require(request.user, app, OPERATE)
    form = RestartForm(request.POST)
    if form.is_valid():
        target = form.cleaned_data["target"]
        _attempt(form, lambda: dyno_restart(actor=request.user, app=app, target=target))
    return _changed(request, app, form, "Restarting.")
