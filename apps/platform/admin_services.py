"""Writes of site and team administrators: teams, their members, and the dyno size catalogue.
Permission checks stay with the callers; these validate input and record an Activity."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from apps.platform.models import (
    Activity,
    App,
    Collaborator,
    DynoSize,
    Membership,
    Operation,
    Team,
)
from apps.platform.services import User, _operation, _user


def _audit(actor: User, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    Activity.objects.create(
        app=None, app_name="", actor=_user(actor), action=action, before=before, after=after
    )


@transaction.atomic
def team_create(*, actor: User, name: str) -> Team:
    team = Team(name=name)
    team.full_clean()
    team.save()
    if (creator := _user(actor)) is not None:
        Membership.objects.create(team=team, user=creator, role=Membership.Role.ADMIN)
    _audit(actor, "team.create", {}, {"team": name})
    return team


def _find_user(identifier: str, *, actor: User, among: Any = None) -> Any:
    """The user named by `identifier`. Someone already in `among` (the team's members, the
    app's collaborators) may be named by username; anyone else only by their email, as Heroku
    asks, unless a site administrator asks: a username would otherwise both find any account
    and show its email in the members list."""
    users = get_user_model().objects.filter(is_active=True)
    by_name = Q(username=identifier) | Q(email__iexact=identifier)
    if among is not None and (found := users.filter(by_name, pk__in=among).first()):
        return found
    site_admin = bool(getattr(actor, "is_superuser", False))
    user = users.filter(by_name if site_admin else Q(email__iexact=identifier)).first()
    if user is None:
        if not site_admin and "@" not in identifier:
            raise ValidationError(f"Give the email address of the user to add, not {identifier!r}.")
        raise ValidationError(f"No user {identifier!r}: they must sign in once, or be created.")
    return user


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise ValidationError(f"Unknown role {role!r}: choose admin or member.")


@transaction.atomic
def membership_set(*, actor: User, team: Team, user: str, role: str) -> Membership:
    """Adds a user to the team, or changes their role."""
    _check_role(role)
    member = _find_user(user.strip(), actor=actor, among=team.memberships.values("user"))
    membership, created = Membership.objects.select_for_update().get_or_create(
        team=team, user=member, defaults={"role": role}
    )
    before = {} if created else {"role": membership.role}
    if not created and membership.role != role:
        _keep_an_admin(team, excluding=membership if role != Membership.Role.ADMIN else None)
    if not created and (membership.role != role or membership.source != Membership.Source.MANUAL):
        # Set by a person, the membership is theirs from now on: sign-in no longer changes it.
        membership.role, membership.source = role, Membership.Source.MANUAL
        membership.save(update_fields=["role", "source"])
    after = {"user": member.username, "role": role}
    _audit(actor, "team.member", before | {"team": team.name}, after)
    return membership


def _keep_an_admin(team: Team, *, excluding: Membership | None) -> None:
    if excluding is None or excluding.role != Membership.Role.ADMIN:
        return
    admins = team.memberships.filter(role=Membership.Role.ADMIN).exclude(pk=excluding.pk)
    if not admins.exists():
        raise ValidationError("A team keeps at least one admin: make someone else admin first.")


@transaction.atomic
def membership_remove(*, actor: User, team: Team, user: str) -> None:
    membership = team.memberships.select_for_update().filter(user__username=user).first()
    if membership is None:
        raise ValidationError(f"{user} is not a member of {team.name}.")
    _keep_an_admin(team, excluding=membership)
    membership.delete()
    _audit(actor, "team.remove", {"team": team.name, "user": user, "role": membership.role}, {})


QUOTA_FIELDS = ("quota_apps", "quota_dynos", "quota_cpu_millicores", "quota_memory_mib")


@transaction.atomic
def team_quotas_set(*, actor: User, team: Team, limits: dict[str, int | None]) -> Team:
    """Sets a team's quotas (None: no limit). A quota below what the team holds now stands:
    the team keeps what it has and may only shrink until it is under."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = {f: getattr(team, f) for f in QUOTA_FIELDS}
    for field in QUOTA_FIELDS:
        setattr(team, field, limits.get(field))
    team.full_clean()
    team.save(update_fields=list(QUOTA_FIELDS))
    _audit(actor, "team.quotas", before | {"team": team.name}, limits)
    return team


@transaction.atomic
def dyno_size_save(*, actor: User, size: DynoSize) -> DynoSize:
    """Creates or edits a size. Every app running it is reconciled, so its dynos get the new
    resources by a rolling update."""
    size.full_clean()
    before: dict[str, Any] = {}
    if size.pk is not None:
        old = DynoSize.objects.select_for_update().get(pk=size.pk)
        before = {f: getattr(old, f) for f in _SIZE_FIELDS}
    size.save()
    after = {f: getattr(size, f) for f in _SIZE_FIELDS}
    if before and before != after:
        for app in App.objects.filter(process_types__size=size).distinct():
            _operation(app, actor, Operation.Kind.SETTINGS, target=f"size {size.name}")
    _audit(actor, "size.save", before, after)
    return size


_SIZE_FIELDS = (
    "name",
    "cpu_request_millicores",
    "cpu_limit_millicores",
    "memory_request_mib",
    "memory_limit_mib",
    "position",
)


@transaction.atomic
def collaborator_set(*, actor: User, app: App, user: str, permissions: list[str]) -> Collaborator:
    """Gives someone access to one app with Heroku's permissions (view is always included)."""
    unknown = sorted(set(permissions) - set(Collaborator.PERMISSIONS))
    if unknown:
        raise ValidationError(
            f"Unknown permission {', '.join(unknown)}: choose from "
            f"{', '.join(Collaborator.PERMISSIONS)}."
        )
    member = _find_user(user.strip(), actor=actor, among=app.collaborators.values("user"))
    wanted = [p for p in Collaborator.PERMISSIONS if p in {*permissions, "view"}]
    collaborator, _ = Collaborator.objects.update_or_create(
        app=app, user=member, defaults={"permissions": wanted}
    )
    Activity.objects.create(
        app=app,
        app_name=app.name,
        actor=_user(actor),
        action="collaborator.update",
        before={},
        after={"user": member.get_username(), "permissions": wanted},
    )
    return collaborator


@transaction.atomic
def collaborator_remove(*, actor: User, app: App, user: str) -> None:
    member = _find_user(user.strip(), actor=actor, among=app.collaborators.values("user"))
    deleted, _ = Collaborator.objects.filter(app=app, user=member).delete()
    if not deleted:
        raise ValidationError(f"{member.get_username()} is not a collaborator of {app.name}.")
    Activity.objects.create(
        app=app,
        app_name=app.name,
        actor=_user(actor),
        action="collaborator.update",
        before={"user": member.get_username()},
        after={},
    )
