"""Releases: the numbered history, a diff between any two, roll back, and deploy a new image."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods

from apps.dashboard.forms import DeployForm, RegistryLoginForm
from apps.dashboard.releases import release_diff
from apps.dashboard.views.common import Request, app_view, page
from apps.platform.models import App, Release
from apps.platform.permissions import DEPLOY, require
from apps.platform.registries import logins_of
from apps.platform.services import release_deploy, release_rollback

RELEASES_PER_PAGE = 50


def _release(app: App, version: int) -> Release:
    release = app.releases.filter(version=version).select_related("created_by").first()
    if release is None:
        raise Http404("No such release")
    return release


@require_GET
@app_view
def releases(request: Request, app: App) -> HttpResponse:
    history = app.releases.select_related("created_by").order_by("-version")
    listing = Paginator(history, RELEASES_PER_PAGE).get_page(request.GET.get("page"))
    current = app.releases.order_by("-version").values_list("version", flat=True).first()
    context = {"app": app, "listing": listing, "current": current}
    return page(request, "dashboard/app_releases.html", context)


@require_GET
@app_view
def diff(request: Request, app: App, old: int, new: int) -> HttpResponse:
    before, after = _release(app, old), _release(app, new)
    context = {"app": app, "before": before, "after": after, "diff": release_diff(before, after)}
    return page(request, "dashboard/release_diff.html", context)


@require_http_methods(["GET", "POST"])
@app_view
def rollback(request: Request, app: App, version: int) -> HttpResponse:
    """GET asks for confirmation (the page without JavaScript); POST rolls back."""
    require(request.user, app, DEPLOY)
    target = _release(app, version)
    current = app.releases.order_by("-version").first()
    if request.method == "POST":
        release = release_rollback(actor=request.user, app=app, version=target.version)
        messages.success(request, f"Rolled back to v{target.version} as v{release.version}.")
        return redirect("dashboard:overview", app.name)
    context = {
        "app": app,
        "target": target,
        "current": current,
        "diff": release_diff(current, target) if current else None,
    }
    return page(request, "dashboard/release_rollback.html", context)


@require_http_methods(["GET", "POST"])
@app_view
def deploy(request: Request, app: App) -> HttpResponse:
    require(request.user, app, DEPLOY)
    form = DeployForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            release = release_deploy(
                actor=request.user,
                app=app,
                image=form.cleaned_data["image"],
                description=form.cleaned_data["description"],
                commands=form.cleaned_data["procfile"] or None,
            )
        except ValidationError as error:
            form.add_service_error(error, "image")
        else:
            messages.success(request, f"Deployed {release.image} as v{release.version}.")
            return redirect("dashboard:overview", app.name)
    return deploy_page(request, app, form=form)


def deploy_page(
    request: Request,
    app: App,
    *,
    form: DeployForm | None = None,
    login_form: RegistryLoginForm | None = None,
) -> HttpResponse:
    """The deploy page: the image form, and the registry logins its pulls use."""
    form, login_form = form or DeployForm(), login_form or RegistryLoginForm()
    context = {
        "app": app,
        "form": form,
        "current": app.releases.order_by("-version").first(),
        "logins": logins_of(app),  # whoever may deploy may see which logins there are
        "login_form": login_form,
    }
    status = 400 if form.errors or login_form.errors else 200
    return page(request, "dashboard/app_deploy.html", context, status=status)
