"""What the platform is made of, in Heroku's shapes: its one region (the cluster), its one stack
(apps run the images they are given), the user's teams, and the empty lists of what it does not
have yet (buildpacks, add-on attachments), so the CLI's commands print "none" instead of failing."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.api import shapes
from apps.api.errors import ApiError
from apps.api.heroku_only import unavailable
from apps.api.http import ApiRequest, api_view
from apps.api.views.common import find_app
from apps.platform.models import Membership, Team
from apps.platform.permissions import is_site_admin, member_teams


@api_view("GET")
def regions(request: ApiRequest) -> Any:
    return [
        {
            "id": shapes.derived_id("region", settings.PAAS_REGION),
            "name": settings.PAAS_REGION,
            "description": f"This platform's Kubernetes cluster ({settings.PAAS_REGION})",
            "country": "",
            "locale": "",
            "private_capable": False,
            "provider": {"name": "kubernetes", "region": settings.PAAS_REGION},
            "created_at": None,
            "updated_at": None,
        }
    ]


@api_view("GET")
def stacks(request: ApiRequest) -> Any:
    return [
        {
            "id": shapes.derived_id("stack", shapes.STACK),
            "name": shapes.STACK,
            "state": "public",
            "default": True,
            "created_at": None,
            "updated_at": None,
        }
    ]


def _team(team: Team, role: str) -> dict[str, Any]:
    created = team.created.isoformat()
    return {
        "id": shapes.derived_id("team", team.pk),
        "name": team.name,
        "role": role,
        "type": "team",
        "default": False,
        "membership_limit": None,
        "provisioned_licenses": False,
        "credit_card_collections": False,
        "enterprise_account": None,
        "identity_provider": None,
        "created_at": created,
        "updated_at": created,
    }


def _roles(request: ApiRequest) -> dict[int, str]:
    user: Any = request.user  # signed in: api_view checked the token
    return dict(Membership.objects.filter(user=user).values_list("team_id", "role"))


@api_view("GET")
def teams(request: ApiRequest) -> Any:
    """The user's teams with their role (a site administrator sees every team, as admin)."""
    roles = _roles(request)
    admin = is_site_admin(request.user)
    return [
        _team(t, roles.get(t.pk) or ("admin" if admin else "member"))
        for t in member_teams(request.user).order_by("name")
    ]


@api_view("GET")
def team(request: ApiRequest, team: str) -> Any:
    found = member_teams(request.user).filter(name=team).first()
    if found is None:
        raise ApiError(404, "not_found", "Couldn't find that team.")
    return _team(found, _roles(request).get(found.pk) or "admin")


@api_view("GET")
def app_empty_list(request: ApiRequest, app: str) -> Any:
    """The buildpacks of an app: none."""
    find_app(request.user, app)
    return []


@api_view("GET")
def app_addon_attachments(request: ApiRequest, app: str) -> Any:
    """None. Only Heroku Postgres' database resolver (every `pg:*` command) asks for them with
    their config vars included: it is told what to use instead of the list it would find empty."""
    find_app(request.user, app)
    if "config_vars" in request.headers.get("Accept-Inclusion", ""):
        raise unavailable("add-ons")
    return []


@api_view("GET")
def empty_list(request: ApiRequest) -> Any:
    """Every add-on and add-on attachment the user can see: none."""
    return []
