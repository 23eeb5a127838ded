"""Who is asking: the client's address, read through the proxies the operator trusts; and what
a client refused sign-in for too many failures gets."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXIES)


def client_address(request: HttpRequest) -> str:
    """The address of whoever sent the request. X-Forwarded-For counts only when it came from a
    trusted proxy (TRUSTED_PROXIES), and only the entries those proxies appended: read from the
    right, the first address no trusted proxy holds is the client's. Behind a proxy that nobody
    configured, every client would otherwise share the proxy's address (one sign-in throttle
    for all), and without a check anyone could name any address they like."""
    address = str(request.META.get("REMOTE_ADDR", ""))
    if not _trusted(address):
        return address
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if not _trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address  # a proxy we trust wrote garbage: stop at what we know
        address = hop
    return address


def lockout_parameters(request_or_attempt: Any, credentials: dict[str, Any] | None) -> list[str]:
    """What django-axes counts failed sign-ins by: the account and the client's address, each on
    its own. A sign-in through the OpenID Connect provider names no account (the provider knows
    who it is), so it counts by address alone: counted under a blank account name, every such
    failure anywhere would add to one count and soon refuse everyone's sign-in through it."""
    if credentials is not None:
        username = credentials.get("username")
    elif isinstance(request_or_attempt, HttpRequest):
        username = request_or_attempt.POST.get("username")
    else:  # an AccessAttempt, when axes resets an account's or address's count
        username = getattr(request_or_attempt, "username", None)
    return ["username", "ip_address"] if username else ["ip_address"]


def lockout_response(
    request: HttpRequest, response: HttpResponse, credentials: dict[str, Any] | None
) -> HttpResponse:
    """What a sign-in refused by django-axes answers: the API's own 429 as the API wrote it
    (JSON the CLI reads), anything else the lockout page."""
    if response.status_code == 429:
        return response
    return render(request, "registration/locked_out.html", status=429)


class ForwardedHeaders:
    """Drops X-Forwarded-For, -Proto and -Host unless a trusted proxy sent the request: Django
    believes X-Forwarded-Proto for HTTPS (SECURE_PROXY_SSL_HEADER), and a client must not be
    able to claim a secure connection or another address."""

    HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not _trusted(str(request.META.get("REMOTE_ADDR", ""))):
            for header in self.HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
