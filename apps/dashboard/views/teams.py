"""Administration: teams and their members, and the dyno size catalogue."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from apps.dashboard.forms import MemberForm, TeamForm
from apps.dashboard.views.common import Request, page, site_admin_view
from apps.platform import quotas
from apps.platform.admin_services import (
    QUOTA_FIELDS,
    dyno_size_save,
    membership_remove,
    membership_set,
    team_create,
    team_quotas_set,
)
from apps.platform.models import DynoSize, Team
from apps.platform.permissions import is_team_admin, member_teams
from apps.platform.services import DEFAULT_SIZE
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
    return _team_page(request, found, form=form, admin=admin)


def _team_page(
    request: Request,
    team: Team,
    *,
    form: MemberForm | None = None,
    admin: bool,
    quota_form: QuotaForm | None = None,
) -> HttpResponse:
    apps, dynos, cpu, memory = quotas.usage(team)
    limits = (team.quota_apps, team.quota_dynos, team.quota_cpu_millicores, team.quota_memory_mib)
    labels = ("Apps", "Dynos", "CPU (millicores)", "Memory (MiB)")
    context = {
        "team": team,
        "admin": admin,
        "form": form or MemberForm(),
        "members": team.memberships.select_related("user"),
        "apps": team.apps.order_by("name"),
        "usage": list(zip(labels, (apps, dynos, cpu, memory), limits, strict=True)),
        "quota_form": quota_form or QuotaForm(instance=team),
    }
    failed = (form is not None and form.errors) or (quota_form is not None and quota_form.errors)
    return page(request, "dashboard/team.html", context, status=400 if failed else 200)


class QuotaForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Team
        fields = QUOTA_FIELDS
        labels = {
            "quota_apps": "Apps",
            "quota_dynos": "Dynos",
            "quota_cpu_millicores": "CPU (millicores)",
            "quota_memory_mib": "Memory (MiB)",
        }
        help_texts = dict.fromkeys(QUOTA_FIELDS, "Blank: no limit.")


@require_POST
@site_admin_view
def team_quotas(request: Request, team: str) -> HttpResponse:
    found = Team.objects.filter(name=team).first()
    if found is None:
        raise Http404("No such team")
    form = QuotaForm(request.POST, instance=Team.objects.get(pk=found.pk))
    if not form.is_valid():
        return _team_page(request, found, admin=is_team_admin(request.user, found), quota_form=form)
    limits = {f: form.cleaned_data[f] for f in QUOTA_FIELDS}
    team_quotas_set(actor=request.user, team=found, limits=limits)
    messages.success(request, "Quotas updated.")
    return redirect("dashboard:team", found.name)


RESOURCES = (
    "cpu_request_millicores",
    "cpu_limit_millicores",
    "memory_request_mib",
    "memory_limit_mib",
)


class SizeForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = DynoSize
        fields = ("name", *RESOURCES, "position")

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        # Process types new to an app start at that size (services.formation_update).
        if self.instance.name == DEFAULT_SIZE and name != DEFAULT_SIZE:
            raise ValidationError(
                f"{DEFAULT_SIZE} is the size new process types start with: it keeps its name."
            )
        return name

    def _post_clean(self) -> None:
        # Django cleans the model even after one of its fields was refused, and DynoSize.clean
        # compares the resources with each other: it would compare None with a number. The
        # refused field's own error says what is wrong.
        if not any(name in self.errors for name in RESOURCES):
            super()._post_clean()  # type: ignore[misc]  # django-stubs leave it out


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
