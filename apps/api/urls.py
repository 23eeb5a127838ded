"""The Heroku Platform API v3 paths we serve. Reached at the root by requests that accept
`application/vnd.heroku+json` (the heroku CLI), and under /api/ by anything."""

from __future__ import annotations

from django.urls import path, re_path

from apps.api.views import account, apps, collaborators, formation, logs, releases

urlpatterns = [
    path("openapi.json", account.openapi),
    path("account", account.account),
    path("oauth/authorizations", account.authorizations),
    path("apps", apps.apps),
    path("users/<str:user>/apps", apps.user_apps),
    path("teams/apps", apps.team_apps_create),
    path("teams/permissions", collaborators.team_permissions),
    path("teams/apps/<str:app>/collaborators", collaborators.team_collaborators),
    path("teams/apps/<str:app>/collaborators/<str:user>", collaborators.collaborator),
    path("teams/<str:team>/features", collaborators.team_features),
    path("teams/<str:team>/members", collaborators.team_members),
    path("teams/<str:team>/apps", apps.team_apps),
    path("apps/<str:app>", apps.app),
    path("apps/<str:app>/addons", apps.empty_list),
    path("apps/<str:app>/domains", apps.empty_list),
    path("apps/<str:app>/sni-endpoints", apps.empty_list),
    path("apps/<str:app>/pipeline-couplings", apps.no_pipeline),
    path("apps/<str:app>/formation", formation.formation),
    path("apps/<str:app>/formation/<str:type>", formation.formation_type),
    path("apps/<str:app>/formations/<str:type>", formation.restart_type),
    path("apps/<str:app>/dynos", formation.dynos),
    path("apps/<str:app>/dynos/<str:dyno>", formation.dyno),
    path("apps/<str:app>/config-vars", releases.config_vars),
    path("apps/<str:app>/releases", releases.releases),
    path("apps/<str:app>/releases/<str:release>", releases.release),
    path("apps/<str:app>/collaborators", collaborators.collaborators),
    path("apps/<str:app>/collaborators/<str:user>", collaborators.collaborator),
    path("apps/<str:app>/log-sessions", logs.log_sessions),
    path("log-sessions/<str:session>", logs.log_stream, name="api-log-stream"),
    re_path(r"^", account.unknown),
]
