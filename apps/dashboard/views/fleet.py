"""The fleet: what needs a site administrator's attention, orphans and held deletions included."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from apps.dashboard.selectors import fleet_problems
from apps.dashboard.views.common import Request, page, site_admin_view
from apps.platform.installation import installation
from apps.platform.models import Orphan, Team
from apps.platform.orphans import orphan_adopt, orphan_delete


@require_GET
@site_admin_view
def fleet(request: Request) -> HttpResponse:
    apps, dynos = fleet_problems(request.user)
    context = {
        "apps": apps,
        "dynos": dynos,
        "installation": installation(),
        "orphans": Orphan.objects.all(),
        "teams": Team.objects.order_by("name"),
    }
    return page(request, "dashboard/fleet.html", context)


@require_POST
@site_admin_view
def orphan(request: Request, pk: int) -> HttpResponse:
    found = get_object_or_404(Orphan, pk=pk)
    action = request.POST.get("action")
    try:
        if action == "adopt":
            name = request.POST.get("team", "")
            # Postgres refuses a NUL in a query, and no team's name holds one.
            team = Team.objects.filter(name=name).first() if "\x00" not in name else None
            if team is None:
                raise ValidationError("Choose the team that will own the adopted app.")
            app = orphan_adopt(actor=request.user, orphan=found, team=team)
            messages.success(request, f"Adopted {app.name} into {team.name}.")
        elif action == "delete":
            orphan_delete(actor=request.user, orphan=found)
            messages.success(request, f"Deleting the namespace {found.namespace}.")
        else:
            return HttpResponseBadRequest("Say adopt or delete.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("dashboard:fleet")
