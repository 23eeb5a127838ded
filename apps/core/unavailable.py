"""A stored secret that cannot be opened is the operator's to fix, not a server error: the
request is answered 503 with what to do, as JSON for the API and as text for a page."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from apps.api.http import HEROKU_MEDIA_TYPE
from apps.platform.encryption import EncryptionKeyError


class KeyErrors:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, EncryptionKeyError):
            return None
        message = f"Config values cannot be read: {exception}"
        if request.path.startswith("/api/") or HEROKU_MEDIA_TYPE in request.headers.get(
            "Accept", ""
        ):
            return JsonResponse({"id": "unavailable", "message": message}, status=503)
        return HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
