from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from apps.dashboard.views.common import Request, app_view, page, site_admin_view
from apps.platform.models import Activity, App

PER_PAGE = 50


@require_GET
@app_view
def app_activity(request: Request, app: App) -> HttpResponse:
    history = app.activities.select_related("actor").order_by("-created")
    listing = Paginator(history, PER_PAGE).get_page(request.GET.get("page"))
    return page(request, "dashboard/app_activity.html", {"app": app, "listing": listing})


@require_GET
@site_admin_view
def activity(request: Request) -> HttpResponse:
    history = Activity.objects.select_related("actor").order_by("-created")
    if app_name := request.GET.get("app", "").strip()[:30]:
        history = history.filter(app_name=app_name)
    listing = Paginator(history, PER_PAGE).get_page(request.GET.get("page"))
    return page(request, "dashboard/activity.html", {"listing": listing, "app_name": app_name})
