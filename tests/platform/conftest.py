from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User

from apps.platform.models import App, Team
from apps.platform.services import ProcessChange, app_create, formation_update, release_deploy

IMAGE = "registry.example.com/shop:v1"


@pytest.fixture
def app(alice: User, team: Team) -> App:
    return app_create(actor=alice, team=team, name="billing")


def deployed(actor: User, team: Team, prefix: str) -> App:
    """An app with web (2 dynos) and worker (1) deployed, its name unique: the cluster outlives
    each test's database."""
    app = app_create(actor=actor, team=team, name=f"{prefix}-{uuid.uuid4().hex[:8]}")
    formation_update(
        actor=actor,
        app=app,
        changes=[
            ProcessChange("web", quantity=2, command="bin/web --port $PORT"),
            ProcessChange("worker", quantity=1, command="bin/worker"),
        ],
    )
    release_deploy(actor=actor, app=app, image=IMAGE)
    return app
