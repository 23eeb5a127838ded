"""Errors as the Heroku API shapes them: `{"id": ..., "message": ...}` with the right status,
which the heroku CLI prints as `Error: <message>`."""

from __future__ import annotations

from django.http import JsonResponse


class ApiError(Exception):
    def __init__(self, status: int, id: str, message: str) -> None:
        super().__init__(message)
        self.status, self.id, self.message = status, id, message

    def response(self) -> JsonResponse:
        return JsonResponse({"id": self.id, "message": self.message}, status=self.status)


def not_found(what: str = "Couldn't find that app.") -> ApiError:
    return ApiError(404, "not_found", what)


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_params", message)
