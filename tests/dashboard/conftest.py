from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.kube.adapter import Cluster
from apps.platform.models import App, Membership, Team
from apps.platform.reconcile import teardown
from apps.platform.services import app_create


@pytest.fixture
def bob(db) -> User:
    """A member of team acme."""
    return User.objects.create_user("bob", "bob@example.org", "bob password 1")


@pytest.fixture
def charlie(db) -> User:
    """A member of another team, who must never see acme's apps."""
    return User.objects.create_user("charlie", "charlie@example.org", "charlie password 1")


@pytest.fixture
def root(db) -> User:
    return User.objects.create_superuser("root", "root@example.org", "root password 1")


@pytest.fixture
def team(bob: User) -> Team:
    team = Team.objects.create(name="acme")
    Membership.objects.create(team=team, user=bob, role=Membership.Role.ADMIN)
    return team


@pytest.fixture
def other_team(charlie: User) -> Team:
    team = Team.objects.create(name="globex")
    Membership.objects.create(team=team, user=charlie, role=Membership.Role.ADMIN)
    return team


@pytest.fixture
def app(bob: User, team: Team) -> App:
    return app_create(actor=bob, team=team, name="billing")


@pytest.fixture
def torn_down(kube: Cluster) -> Iterator[None]:
    """Whatever apps a test made are deleted from the cluster after it, in case a worker of the
    session reconciled them."""
    yield
    for uid in App.objects.values_list("uid", flat=True):
        teardown(kube, str(uid))


@pytest.fixture
def bob_client(client: Client, bob: User) -> Client:
    client.force_login(bob)
    return client
