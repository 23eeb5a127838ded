"""Administration: teams and their members, and the dyno size catalogue."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from apps.dashboard.forms import MemberForm, TeamForm
from apps.dashboard.views.common import Request, page, site_admin_view
from apps.platform.admin_services import (
    dyno_size_save,
    membership_remove,
    membership_set,
    team_create,
)
from apps.platform.models import DynoSize
from apps.platform.permissions import is_team_admin, member_teams
from apps.platform.validators import ascii_int


@require_http_methods(["GET", "POST"])
@login_required
def teams(request: Request) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_create(actor=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_service_error(error, "name")
        else:
            return redirect("dashboard:team", team.name)
    listing = member_teams(request.user).annotate(
        apps_count=Count("apps", distinct=True), members_count=Count("memberships", distinct=True)
    )
    context = {"teams": listing.order_by("name"), "form": form}
    return page(request, "dashboard/teams.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@login_required
def team(request: Request, team: str) -> HttpResponse:
    found = member_teams(request.user).filter(name=team).first()
    if found is None:
        raise Http404("No such team")
    admin = is_team_admin(request.user, found)
    form = MemberForm(request.POST or None)
    if request.method == "POST":
        if not admin:
            return HttpResponseForbidden("Only the team's admins can change its members.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["remove"]:
                    membership_remove(actor=request.user, team=found, user=data["user"])
                else:
                    membership_set(
                        actor=request.user, team=found, user=data["user"], role=data["role"]
                    )
            except ValidationError as error:
                form.add_service_error(error, "user")
            else:
                messages.success(request, "Members updated.")
                return redirect("dashboard:team", found.name)
    context = {
        "team": found,
        "admin": admin,
        "form": form,
        "members": found.memberships.select_related("user"),
        "apps": found.apps.order_by("name"),
    }
    return page(request, "dashboard/team.html", context, status=400 if form.errors else 200)


class SizeForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = DynoSize
        fields = (
            "name",
            "cpu_request_millicores",
            "cpu_limit_millicores",
            "memory_request_mib",
            "memory_limit_mib",
            "position",
        )


@require_http_methods(["GET", "POST"])
@site_admin_view
def sizes(request: Request) -> HttpResponse:
    instance = None
    if pk := request.POST.get("id") or request.GET.get("edit"):
        instance = DynoSize.objects.filter(pk=ascii_int(pk) or 0).first()
    form = SizeForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        size = dyno_size_save(actor=request.user, size=form.save(commit=False))
        messages.success(request, f"Saved {size.name}.")
        return redirect("dashboard:sizes")
    context = {"sizes": DynoSize.objects.all(), "form": form, "editing": instance}
    return page(request, "dashboard/sizes.html", context, status=400 if form.errors else 200)
