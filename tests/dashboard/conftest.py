from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.platform.models import App, Team
from apps.platform.services import app_create


@pytest.fixture
def app(bob: User, team: Team) -> App:
    return app_create(actor=bob, team=team, name="billing")


@pytest.fixture
def bob_client(client: Client, bob: User) -> Client:
    client.force_login(bob)
    return client
