"""A user's own API tokens: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from apps.api.models import ApiToken
from apps.api.tokens import token_create
from apps.dashboard.views.common import Request, page


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. laptop or CI.")


@require_http_methods(["GET", "POST"])
@login_required
def tokens(request: Request) -> HttpResponse:
    form = TokenForm(request.POST or None)
    secret = ""
    if request.method == "POST" and form.is_valid():
        _, secret = token_create(user=request.user, name=form.cleaned_data["name"])
        form = TokenForm()
    context = {"tokens": ApiToken.objects.filter(user=request.user), "form": form, "secret": secret}
    return page(request, "dashboard/tokens.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def revoke(request: Request, token: int) -> HttpResponse:
    deleted, _ = ApiToken.objects.filter(user=request.user, pk=token).delete()
    if deleted:
        messages.success(request, "The token is revoked.")
    return redirect("dashboard:tokens")
