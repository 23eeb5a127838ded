"""The machine-readable description of the API (OpenAPI 3.1), served at /api/openapi.json.
Request bodies are described as the views accept them; the fuzzing tests generate from them."""

from __future__ import annotations

from typing import Any

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
TS = {"type": ["string", "null"], "format": "date-time"}
REF = {"type": "object", "properties": {"id": STRING, "name": STRING}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["id", "message"],
        "properties": {"id": STRING, "message": STRING},
    },
    "Account": {
        "type": "object",
        "required": ["id", "email"],
        "properties": {"id": STRING, "email": STRING, "name": STRING, "created_at": TS},
    },
    "App": {
        "type": "object",
        "required": ["id", "name", "maintenance", "owner", "region", "stack"],
        "properties": {
            "id": STRING,
            "name": STRING,
            "maintenance": {"type": "boolean"},
            "created_at": TS,
            "updated_at": TS,
            "released_at": TS,
            "owner": {"type": "object", "properties": {"id": STRING, "email": STRING}},
            "region": REF,
            "stack": REF,
            "build_stack": REF,
            "team": REF,
            "web_url": NULLABLE_STRING,
            "git_url": STRING,
        },
    },
    "Formation": {
        "type": "object",
        "required": ["id", "type", "quantity", "size", "command"],
        "properties": {
            "id": STRING,
            "app": REF,
            "type": STRING,
            "command": STRING,
            "quantity": {"type": "integer", "minimum": 0},
            "size": STRING,
            "dyno_size": REF,
        },
    },
    "Dyno": {
        "type": "object",
        "required": ["id", "name", "type", "state"],
        "properties": {
            "id": STRING,
            "name": STRING,
            "type": STRING,
            "command": STRING,
            "size": STRING,
            "state": {"enum": ["crashed", "down", "idle", "starting", "up"]},
            "attach_url": NULLABLE_STRING,
            "app": REF,
        },
    },
    "Release": {
        "type": "object",
        "required": ["id", "version", "status", "current", "description"],
        "properties": {
            "id": STRING,
            "version": {"type": "integer"},
            "description": STRING,
            "status": {"enum": ["failed", "pending", "succeeded", "expired"]},
            "current": {"type": "boolean"},
            "eligible_for_rollback": {"type": "boolean"},
            "user": {"type": "object", "properties": {"id": STRING, "email": STRING}},
            "app": REF,
            "created_at": TS,
        },
    },
    "ConfigVars": {"type": "object", "additionalProperties": STRING},
    "Collaborator": {
        "type": "object",
        "required": ["id", "user", "role", "permissions"],
        "properties": {
            "id": STRING,
            "role": NULLABLE_STRING,
            "app": REF,
            "user": {"type": "object", "properties": {"id": STRING, "email": STRING}},
            "permissions": {"type": "array", "items": {"type": "object"}},
        },
    },
    "RegistryLogin": {
        "type": "object",
        "required": ["registry", "username", "scope"],
        "properties": {
            "registry": STRING,
            "username": STRING,
            "scope": {"enum": ["app", "team"]},
            "created_at": TS,
            "updated_at": TS,
        },
    },
    "LogSession": {
        "type": "object",
        "required": ["id", "logplex_url"],
        "properties": {"id": STRING, "logplex_url": STRING, "created_at": TS},
    },
}

BODIES: dict[str, Any] = {
    "AppCreate": {
        "type": "object",
        "properties": {"name": STRING, "team": STRING, "region": STRING, "stack": STRING},
    },
    "AppUpdate": {
        "type": "object",
        "properties": {"name": STRING, "maintenance": {"type": "boolean"}},
    },
    "FormationUpdate": {
        "type": "object",
        "properties": {
            "quantity": {"type": ["integer", "string"]},
            "size": STRING,
            "dyno_size": STRING,
        },
    },
    "FormationBatch": {
        "type": "object",
        "required": ["updates"],
        "properties": {
            "updates": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "type": STRING,
                        "quantity": {"type": ["integer", "string"]},
                        "size": STRING,
                    },
                },
            }
        },
    },
    "ConfigVarsUpdate": {"type": "object", "additionalProperties": NULLABLE_STRING},
    "ReleaseCreate": {
        "type": "object",
        "properties": {
            "release": STRING,
            "oci_image": STRING,
            "description": STRING,
            "commands": {"type": "object", "additionalProperties": STRING},
        },
    },
    "CollaboratorCreate": {
        "type": "object",
        "required": ["user"],
        "properties": {"user": STRING},
    },
    "LogSessionCreate": {
        "type": "object",
        "properties": {
            "dyno": STRING,
            "source": STRING,
            "tail": {"type": "boolean"},
            "lines": {"type": "integer"},
        },
    },
    "Feature": {
        "type": "object",
        "required": ["id", "name", "description", "enabled", "state"],
        "properties": {
            "id": STRING,
            "name": STRING,
            "description": STRING,
            "enabled": {"type": "boolean"},
            "state": STRING,
        },
    },
    "FeatureUpdate": {
        "type": "object",
        "required": ["enabled"],
        "properties": {"enabled": {"type": "boolean"}},
    },
    "RegistryLoginSet": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": STRING, "password": STRING},
    },
    "DynoCreate": {
        "type": "object",
        "required": ["command"],
        "properties": {"command": STRING, "size": STRING, "type": STRING},
    },
}

# path -> method -> (request body or None, response schema, success status)
OPERATIONS: dict[str, dict[str, tuple[str | None, Any, int]]] = {
    "/account": {"get": (None, _ref("Account"), 200)},
    "/apps": {"get": (None, _list("App"), 200), "post": ("AppCreate", _ref("App"), 201)},
    "/users/{user}/apps": {"get": (None, _list("App"), 200)},
    "/apps/{app}": {
        "get": (None, _ref("App"), 200),
        "patch": ("AppUpdate", _ref("App"), 200),
        "delete": (None, _ref("App"), 200),
    },
    "/apps/{app}/formation": {
        "get": (None, _list("Formation"), 200),
        "patch": ("FormationBatch", _list("Formation"), 200),
    },
    "/apps/{app}/formation/{type}": {
        "get": (None, _ref("Formation"), 200),
        "patch": ("FormationUpdate", _ref("Formation"), 200),
    },
    "/apps/{app}/formations/{type}": {"delete": (None, {"type": "object"}, 202)},
    "/apps/{app}/dynos": {
        "get": (None, _list("Dyno"), 200),
        "delete": (None, {"type": "object"}, 202),
        "post": ("DynoCreate", _ref("Dyno"), 201),
    },
    "/apps/{app}/dynos/{dyno}": {
        "get": (None, _ref("Dyno"), 200),
        "delete": (None, {"type": "object"}, 202),
    },
    "/apps/{app}/config-vars": {
        "get": (None, _ref("ConfigVars"), 200),
        "patch": ("ConfigVarsUpdate", _ref("ConfigVars"), 200),
    },
    "/apps/{app}/releases": {
        "get": (None, _list("Release"), 200),
        "post": ("ReleaseCreate", _ref("Release"), 201),
    },
    "/apps/{app}/releases/{release}": {"get": (None, _ref("Release"), 200)},
    "/apps/{app}/collaborators": {
        "get": (None, _list("Collaborator"), 200),
        "post": ("CollaboratorCreate", _ref("Collaborator"), 201),
    },
    "/apps/{app}/collaborators/{user}": {
        "get": (None, _ref("Collaborator"), 200),
        "delete": (None, _ref("Collaborator"), 200),
    },
    "/apps/{app}/log-sessions": {"post": ("LogSessionCreate", _ref("LogSession"), 201)},
    "/apps/{app}/registry-credentials": {"get": (None, _list("RegistryLogin"), 200)},
    "/apps/{app}/registry-credentials/{registry}": {
        "put": ("RegistryLoginSet", _ref("RegistryLogin"), 200),
        "delete": (None, {"type": "object"}, 200),
    },
    "/teams/{team}/registry-credentials": {"get": (None, _list("RegistryLogin"), 200)},
    "/teams/{team}/registry-credentials/{registry}": {
        "put": ("RegistryLoginSet", _ref("RegistryLogin"), 200),
        "delete": (None, {"type": "object"}, 200),
    },
    "/apps/{app}/releases/{release}/config-vars": {"get": (None, _ref("ConfigVars"), 200)},
    "/apps/{app}/dynos/{dyno}/actions/stop": {"post": (None, {"type": "object"}, 202)},
    "/apps/{app}/formations/{type}/actions/stop": {"post": (None, {"type": "object"}, 202)},
    "/oauth/authorizations": {"get": (None, {"type": "array"}, 200)},
    "/regions": {"get": (None, {"type": "array", "minItems": 1}, 200)},
    "/stacks": {"get": (None, {"type": "array", "minItems": 1}, 200)},
    "/teams": {"get": (None, {"type": "array"}, 200)},
    "/teams/{team}": {"get": (None, {"type": "object", "required": ["name", "role"]}, 200)},
    "/apps/{app}/addons": {"get": (None, {"type": "array", "maxItems": 0}, 200)},
    "/apps/{app}/domains": {"get": (None, {"type": "array", "maxItems": 0}, 200)},
    "/apps/{app}/features": {"get": (None, _list("Feature"), 200)},
    "/apps/{app}/features/{feature}": {
        "get": (None, _ref("Feature"), 200),
        "patch": ("FeatureUpdate", _ref("Feature"), 200),
    },
    "/account/features": {"get": (None, {"type": "array", "maxItems": 0}, 200)},
}


def _operation(path: str, method: str, body: str | None, schema: Any, status: int) -> Any:
    params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    operation: dict[str, Any] = {
        "operationId": f"{method}{path.replace('/', '_').replace('{', '').replace('}', '')}",
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": STRING} for p in params
        ],
        "responses": {
            str(status): {"description": "OK", "content": {"application/json": {"schema": schema}}},
            "default": {
                "description": "An error",
                "content": {"application/json": {"schema": _ref("Error")}},
            },
        },
    }
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


def document(server: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PaaS API",
            "version": "3",
            "description": "A subset of the Heroku Platform API v3. Send `Accept: "
            "application/vnd.heroku+json; version=3` at the site's root, or use /api/. "
            "Authenticate with `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": server}],
        "components": {
            "schemas": SCHEMAS | BODIES,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
        "paths": {
            path: {m: _operation(path, m, *spec) for m, spec in methods.items()}
            for path, methods in OPERATIONS.items()
        },
    }
