"""The sign-in pages as the provider changes them: the login page offers "Sign in with <provider>"
beside the password form; the round trip to the provider starts at `Start` and ends at
`Callback`, which lands on the dashboard or, whatever went wrong, back on the login page with a
message that says so: never an error page."""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from apps.core.oidc.backend import SignInRefused
from apps.core.oidc.provider import ProviderUnavailable, endpoints

log = logging.getLogger(__name__)


class LoginPage(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sign_in_provider"] = settings.OIDC_PROVIDER_NAME if settings.OIDC_ENABLED else ""
        return context


def _back_to_login(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect("login")


class Start(OIDCAuthenticationRequestView):  # type: ignore[misc]  # untyped base class
    """Sends the browser to the provider, with a state, a nonce and a PKCE challenge kept in the
    session for the callback."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = endpoints().authorization
        except ProviderUnavailable as error:
            log.warning("sign-in provider unavailable: %s", error)
            return _back_to_login(
                request,
                f"{settings.OIDC_PROVIDER_NAME} cannot be reached right now. Try again in a "
                "moment, or sign in with your password.",
            )
        response: HttpResponse = super().get(request)
        return response


class Callback(OIDCAuthenticationCallbackView):  # type: ignore[misc]  # untyped base class
    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404
        try:
            response: HttpResponse = super().get(request)
        except SignInRefused as refusal:
            return _back_to_login(request, str(refusal))
        except (
            ProviderUnavailable,
            SuspiciousOperation,  # a state that is not this browser's, a token that fails checks
            requests.RequestException,  # the provider unreachable, or refusing the code
            jwt.PyJWTError,  # an expired or malformed token
            ValueError,  # an answer that is not JSON
            KeyError,
        ) as error:
            log.warning("sign-in through %s failed: %r", settings.OIDC_PROVIDER_NAME, error)
            return _back_to_login(request, self._failed())
        return response

    def login_failure(self) -> HttpResponse:
        # The provider's error code picks the message; its error_description is not shown, as
        # anyone can put text there in a link to this page.
        error = self.request.GET.get("error", "")
        name = settings.OIDC_PROVIDER_NAME
        if error == "access_denied":
            return _back_to_login(self.request, f"Signing in with {name} was cancelled.")
        if error:
            return _back_to_login(self.request, f"{name} refused the sign-in. Try again.")
        return _back_to_login(self.request, self._failed())

    def _failed(self) -> str:
        return f"Signing in with {settings.OIDC_PROVIDER_NAME} failed. Try again."
