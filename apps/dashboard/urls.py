from __future__ import annotations

from django.urls import path

from apps.dashboard.views import (
    access,
    activity,
    app_settings,
    apps,
    config,
    fleet,
    logs,
    overview,
    registries,
    releases,
    teams,
    tokens,
)

app_name = "dashboard"

urlpatterns = [
    path("", apps.index, name="index"),
    path("apps/new", apps.create, name="create"),
    path("apps/<str:name>/", overview.overview, name="overview"),
    path("apps/<str:name>/rollout", overview.rollout, name="rollout"),
    path("apps/<str:name>/scale", overview.scale, name="scale"),
    path("apps/<str:name>/autoscale", overview.autoscale, name="autoscale"),
    path("apps/<str:name>/restart", overview.restart, name="restart"),
    path("apps/<str:name>/destroy", app_settings.destroy, name="destroy"),
    path("apps/<str:name>/config", config.config, name="config"),
    path("apps/<str:name>/config/set", config.config_set, name="config-set"),
    path("apps/<str:name>/config/unset", config.config_unset, name="config-unset"),
    path("apps/<str:name>/config/<str:key>", config.reveal, name="config-reveal"),
    path("apps/<str:name>/releases", releases.releases, name="releases"),
    path("apps/<str:name>/releases/<int:old>..<int:new>", releases.diff, name="release-diff"),
    path("apps/<str:name>/releases/<int:version>/rollback", releases.rollback, name="rollback"),
    path("apps/<str:name>/deploy", releases.deploy, name="deploy"),
    path("apps/<str:name>/registries", registries.registry_set, name="registry-set"),
    path("apps/<str:name>/registries/remove", registries.registry_remove, name="registry-remove"),
    path("apps/<str:name>/logs", logs.logs, name="logs"),
    path("apps/<str:name>/logs/stream", logs.stream, name="log-stream"),
    path("apps/<str:name>/activity", activity.app_activity, name="app-activity"),
    path("apps/<str:name>/access", access.access, name="access"),
    path("apps/<str:name>/settings", app_settings.settings, name="settings"),
    path("apps/<str:name>/settings/rename", app_settings.rename, name="rename"),
    path("apps/<str:name>/settings/maintenance", app_settings.maintenance, name="maintenance"),
    path("apps/<str:name>/settings/features/<str:feature>", app_settings.feature, name="feature"),
    path("activity", activity.activity, name="activity"),
    path("teams", teams.teams, name="teams"),
    path("teams/<slug:team>", teams.team, name="team"),
    path("teams/<slug:team>/quotas", teams.team_quotas, name="team-quotas"),
    path("sizes", teams.sizes, name="sizes"),
    path("fleet", fleet.fleet, name="fleet"),
    path("fleet/orphans/<int:pk>", fleet.orphan, name="orphan"),
    path("account/tokens", tokens.tokens, name="tokens"),
    path("account/tokens/<int:token>/revoke", tokens.revoke, name="token-revoke"),
]
