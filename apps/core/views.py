from __future__ import annotations

from dataclasses import asdict

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.health import run_checks


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Reachability of every dependency: 200 when all are up, 503 otherwise.

    JSON for probes and scripts (?format=json or Accept: application/json), a page for people.
    """
    checks = run_checks()
    healthy = all(check.ok for check in checks)
    status = 200 if healthy else 503
    wants_json = request.GET.get("format") == "json" or "application/json" in request.headers.get(
        "Accept", ""
    )
    if wants_json:
        payload = {"healthy": healthy, "checks": [asdict(check) for check in checks]}
        return JsonResponse(payload, status=status)
    return render(
        request, "core/healthz.html", {"checks": checks, "healthy": healthy}, status=status
    )


@require_GET
def livez(request: HttpRequest) -> HttpResponse:
    """The process answers: for liveness probes, which must not fail when a dependency is down
    (that is /healthz's job), and as the trivial baseline of the page benchmarks."""
    return HttpResponse("ok", content_type="text/plain")
