"""What bin/run does before starting the processes, in one Python start-up instead of two."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Apply migrations, then create the first site administrator if there is none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--login-url", default="")

    def handle(self, *args: Any, login_url: str, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("ensure_admin", login_url=login_url, stdout=self.stdout)
