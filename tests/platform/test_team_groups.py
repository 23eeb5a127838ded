"""Team memberships that follow the sign-in provider's groups: added, changed and removed only
where the mapping made them; never one added by hand."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.platform.admin_services import membership_set
from apps.platform.models import Activity, Membership
from apps.platform.team_groups import memberships_sync, wanted_roles

pytestmark = pytest.mark.django_db
GROUP, MANUAL = Membership.Source.GROUP, Membership.Source.MANUAL
MAPPING = {
    "/acme": {"acme": "member"},
    "/acme-admins": {"acme": "admin"},
    "/globex": {"globex": "member"},
}


@pytest.fixture(autouse=True)
def _mapping(settings: Any) -> None:
    settings.OIDC_TEAM_GROUPS = MAPPING


def roles(user: User) -> dict[str, tuple[str, str]]:
    return {m.team.name: (m.role, m.source) for m in Membership.objects.filter(user=user)}


def test_of_two_groups_granting_one_team_admin_wins():
    assert wanted_roles(["/acme", "/acme-admins", "/unmapped"], MAPPING) == {"acme": "admin"}
    assert wanted_roles(["/acme-admins", "/acme"], MAPPING) == {"acme": "admin"}
    assert wanted_roles(["/globex"], MAPPING) == {"globex": "member"}


def test_it_adds_the_mapped_teams_and_records_it(alice, team, other_team):
    memberships_sync(user=alice, groups=["/acme", "/globex"])
    assert roles(alice) == {"acme": ("member", GROUP), "globex": ("member", GROUP)}
    added = Activity.objects.filter(action="team.member").order_by("before__team")
    assert [(a.actor, a.before["team"], a.after) for a in added] == [
        (None, "acme", {"user": "alice", "role": "member", "source": "group"}),
        (None, "globex", {"user": "alice", "role": "member", "source": "group"}),
    ]


def test_it_changes_the_role_of_a_membership_it_made(alice, team):
    memberships_sync(user=alice, groups=["/acme"])
    memberships_sync(user=alice, groups=["/acme", "/acme-admins"])
    assert roles(alice) == {"acme": ("admin", GROUP)}
    memberships_sync(user=alice, groups=["/acme"])
    assert roles(alice) == {"acme": ("member", GROUP)}
    changes = Activity.objects.filter(action="team.member").order_by("created", "pk")
    assert [(a.before.get("role"), a.after["role"]) for a in changes] == [
        (None, "member"),
        ("member", "admin"),
        ("admin", "member"),
    ]


def test_it_removes_a_membership_it_made_when_the_user_leaves_the_group(alice, team):
    memberships_sync(user=alice, groups=["/acme"])
    memberships_sync(user=alice, groups=["/unmapped"])
    assert roles(alice) == {}
    removal = Activity.objects.get(action="team.remove")
    assert (removal.actor, removal.before) == (
        None,
        {"team": "acme", "user": "alice", "role": "member"},
    )


def test_a_sign_in_that_changes_nothing_records_nothing(alice, team):
    memberships_sync(user=alice, groups=["/acme"])
    memberships_sync(user=alice, groups=["/acme"])
    assert Activity.objects.count() == 1


def test_it_never_touches_a_membership_added_by_hand(alice, bob, team, other_team):
    """bob is acme's admin by hand: the mapping would make him a member, then nothing."""
    Membership.objects.create(team=other_team, user=alice, role="member")
    memberships_sync(user=bob, groups=["/acme"])
    assert roles(bob) == {"acme": ("admin", MANUAL)}
    memberships_sync(user=bob, groups=[])
    memberships_sync(user=alice, groups=[])
    assert roles(bob) == {"acme": ("admin", MANUAL)}
    assert roles(alice) == {"globex": ("member", MANUAL)}
    assert not Activity.objects.exists()


def test_a_membership_a_person_changes_becomes_theirs(alice, bob, team):
    memberships_sync(user=alice, groups=["/acme"])
    membership_set(actor=bob, team=team, user="alice", role="admin")
    assert roles(alice) == {"acme": ("admin", MANUAL)}
    memberships_sync(user=alice, groups=[])
    assert roles(alice) == {"acme": ("admin", MANUAL)}


def test_a_team_that_does_not_exist_is_skipped(alice, team):
    memberships_sync(user=alice, groups=["/acme", "/globex"])
    assert roles(alice) == {"acme": ("member", GROUP)}
