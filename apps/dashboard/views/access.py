"""Who can reach an app: the team's admins, its members (view), and collaborators with Heroku's
per-app permissions, given and taken back here or with `heroku access:add`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from apps.dashboard.forms import ServiceForm
from apps.dashboard.views.common import Request, app_view, page
from apps.platform.admin_services import collaborator_remove, collaborator_set
from apps.platform.models import App, Collaborator, Membership
from apps.platform.permissions import MANAGE, require


class AccessForm(ServiceForm):
    user = forms.CharField(max_length=150, label="Username or email")
    permissions = forms.MultipleChoiceField(
        choices=[(p, p) for p in Collaborator.PERMISSIONS[1:]],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="View is always included.",
    )
    remove = forms.BooleanField(required=False)


@require_http_methods(["GET", "POST"])
@app_view
def access(request: Request, app: App) -> HttpResponse:
    form = AccessForm(request.POST or None)
    if request.method == "POST":
        require(request.user, app, MANAGE)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["remove"]:
                    collaborator_remove(actor=request.user, app=app, user=data["user"])
                else:
                    collaborator_set(
                        actor=request.user,
                        app=app,
                        user=data["user"],
                        permissions=data["permissions"],
                    )
            except ValidationError as error:
                form.add_service_error(error, "user")
            else:
                messages.success(request, "Access updated.")
                return redirect("dashboard:access", app.name)
    context = {
        "app": app,
        "form": form,
        "admins": app.team.memberships.filter(role=Membership.Role.ADMIN).select_related("user"),
        "members": app.team.memberships.filter(role=Membership.Role.MEMBER)
        .exclude(user__in=app.collaborators.values("user"))
        .select_related("user"),
        "collaborators": app.collaborators.select_related("user"),
    }
    return page(request, "dashboard/app_access.html", context, status=400 if form.errors else 200)
