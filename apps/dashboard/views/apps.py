from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect

from apps.dashboard.forms import AppCreateForm
from apps.dashboard.selectors import APP_STATES, AppRows
from apps.dashboard.views.common import Request, page
from apps.platform.permissions import member_teams
from apps.platform.services import app_create

APPS_PER_PAGE = 100


@login_required
def index(request: Request) -> HttpResponse:
    # No name holds a NUL, and Postgres refuses one in a query: it goes.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:60]
    state = request.GET.get("state", "")
    state = state if state in APP_STATES else ""
    rows = AppRows(request.user, query=query, states=[state] if state else ())
    listing = Paginator(rows, APPS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"listing": listing, "query": query, "state": state, "states": APP_STATES}
    return page(request, "dashboard/apps.html", context, partial="app-rows")


@login_required
def create(request: Request) -> HttpResponse:
    teams = list(member_teams(request.user).values_list("name", flat=True))
    form = AppCreateForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        team = member_teams(request.user).get(name=form.cleaned_data["team"])
        try:
            app = app_create(actor=request.user, team=team, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_service_error(error, "name")
        else:
            return redirect("dashboard:overview", app.name)
    status = 400 if form.errors else 200
    return page(request, "dashboard/app_create.html", {"form": form, "teams": teams}, status=status)
