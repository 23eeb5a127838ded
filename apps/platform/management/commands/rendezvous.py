"""Serves `heroku run`: the rendezvous protocol bridged to an exec in a one-off dyno."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.platform.rendezvous import serve


class Command(BaseCommand):
    help = "Serve heroku run sessions (TLS) on RENDEZVOUS_PORT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="0.0.0.0")
        parser.add_argument("--port", type=int, default=settings.RENDEZVOUS_PORT)

    def handle(self, *args: Any, bind: str, port: int, **options: Any) -> None:
        if not settings.RENDEZVOUS_CERT or not settings.RENDEZVOUS_KEY:
            raise CommandError("Set RENDEZVOUS_CERT and RENDEZVOUS_KEY: the CLI speaks TLS.")
        serve(bind, port, settings.RENDEZVOUS_CERT, settings.RENDEZVOUS_KEY)
