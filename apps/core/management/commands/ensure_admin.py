"""Creates the first site administrator on a fresh database and prints its login once."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from apps.platform.models import Membership, Team


class Command(BaseCommand):
    help = "Create a site administrator when none exists, and print its password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument("--login-url", default="", help="where the platform is served")

    def handle(self, *args: Any, username: str, email: str, login_url: str, **options: Any) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("A site administrator exists already; sign in with its password.")
            self.stdout.write("Forgot it? python manage.py changepassword USERNAME")
            return
        password = secrets.token_urlsafe(12)
        admin = users.objects.create_superuser(username=username, email=email, password=password)
        # A first team, so the first app can be created straight away.
        team, _ = Team.objects.get_or_create(name="main")
        Membership.objects.get_or_create(team=team, user=admin, defaults={"role": "admin"})
        where = f" at {login_url}" if login_url else ""
        self.stdout.write(self.style.SUCCESS(f"Created site administrator{where}"))
        self.stdout.write(f"    username: {username}")
        self.stdout.write(f"    password: {password}")
        self.stdout.write("This password is shown only once.")
