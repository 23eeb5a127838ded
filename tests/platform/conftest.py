from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.platform.models import App, Team
from apps.platform.services import app_create

IMAGE = "registry.example.com/shop:v1"


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice", "alice@example.org", "alice password 1")


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(name="acme")


@pytest.fixture
def app(alice: User, team: Team) -> App:
    return app_create(actor=alice, team=team, name="billing")
