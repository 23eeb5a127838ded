"""Settings for the paas project, read from the environment (see paas.env).

PAAS_ENV=development (what bin/run and the tests use) allows conveniences such as DEBUG and a
fixed local secret key; any other environment demands every secret explicitly.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from paas.env import (
    database_from_url,
    env_bool,
    env_fernet_keys,
    env_int,
    env_label,
    env_list,
    env_networks,
    env_node_selector,
    env_str,
    env_team_groups,
    env_tolerations,
    env_url,
    existing_file,
    redis_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

PAAS_ENV = env_str("PAAS_ENV", "production")
if PAAS_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"PAAS_ENV={PAAS_ENV!r} must be development or production")
DEVELOPMENT = PAAS_ENV == "development"

DEBUG = env_bool("DEBUG", DEVELOPMENT)
SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key" if DEVELOPMENT else None)
if not DEVELOPMENT and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters outside development")

# Keys that wrap each app's data key (apps/platform/encryption.py): Fernet keys, the first one
# current, the others still opening what they wrapped until `rotate_encryption_key` has run.
CONFIG_ENCRYPTION_KEYS = env_fernet_keys(
    "CONFIG_ENCRYPTION_KEYS",
    ["insecure-development-key-only-0000000000000="] if DEVELOPMENT else None,
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_htmx",
    "template_partials",
    "apps.core",
    "apps.platform",
    "apps.dashboard",
    "apps.api",
]

MIDDLEWARE = [
    # First: X-Forwarded-* headers count only when a trusted proxy sent them.
    "apps.core.clients.ForwardedHeaders",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.api.http.ApiRouting",
    "apps.core.unavailable.KeyErrors",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# Every sign-in (the login page, the admin's, `heroku login` through the API) goes through
# authenticate(), which django-axes watches: after AXES_FAILURE_LIMIT failures for one account,
# or from one client address, that account or address is refused for a while.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURES_ALLOWED", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", 15))
# The account and the client address, each counted on its own (apps/core/clients.py).
AXES_LOCKOUT_PARAMETERS = "apps.core.clients.lockout_parameters"
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "apps.core.clients.client_address"
AXES_LOCKOUT_CALLABLE = "apps.core.clients.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# The proxies in front of the platform (addresses or networks): only their X-Forwarded-For is
# believed, for the client's address (apps/core/clients.py) and for HTTPS.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES", [])

# Single sign-on with OpenID Connect (apps/core/oidc/), beside passwords: on when OIDC_ISSUER is
# set. The provider's endpoints come from <issuer>/.well-known/openid-configuration, fetched on
# first use, unless OIDC_*_ENDPOINT name them. OIDC_TEAM_GROUPS maps the provider's groups to
# teams: GROUP=TEAM:ROLE,... (README, "Single sign-on").
OIDC_ISSUER = env_url("OIDC_ISSUER", https=not DEVELOPMENT)
OIDC_ENABLED = bool(OIDC_ISSUER)
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID", None if OIDC_ENABLED else "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", None if OIDC_ENABLED else "")
OIDC_TEAM_GROUPS = env_team_groups("OIDC_TEAM_GROUPS")
if not OIDC_ENABLED and (OIDC_RP_CLIENT_ID or OIDC_RP_CLIENT_SECRET or OIDC_TEAM_GROUPS):
    raise ImproperlyConfigured(
        "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_TEAM_GROUPS need OIDC_ISSUER"
    )
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
if not re.fullmatch(r"(RS|ES|HS)(256|384|512)", OIDC_RP_SIGN_ALGO):
    raise ImproperlyConfigured(
        f"OIDC_SIGN_ALGO={OIDC_RP_SIGN_ALGO!r} must be RS, ES or HS 256/384/512"
    )
OIDC_OP_AUTHORIZATION_ENDPOINT = env_url("OIDC_AUTHORIZATION_ENDPOINT", https=not DEVELOPMENT)
OIDC_OP_TOKEN_ENDPOINT = env_url("OIDC_TOKEN_ENDPOINT", https=not DEVELOPMENT)
OIDC_OP_USER_ENDPOINT = env_url("OIDC_USERINFO_ENDPOINT", https=not DEVELOPMENT)
OIDC_OP_JWKS_ENDPOINT = env_url("OIDC_JWKS_ENDPOINT", https=not DEVELOPMENT)
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10, minimum=1)
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("apps.core.oidc.backend.OidcBackend")

ROOT_URLCONF = "paas.urls"
WSGI_APPLICATION = "paas.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        "DATABASE_URL",
        env_str("DATABASE_URL", "postgres://paas@127.0.0.1:54329/paas" if DEVELOPMENT else None),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = redis_url(
    "REDIS_URL", env_str("REDIS_URL", "redis://127.0.0.1:63799/0" if DEVELOPMENT else None)
)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}
# Every signed-in request reads its session: from Redis, written through to Postgres, it costs a
# tenth of a millisecond instead of a query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Celery: tasks are acknowledged after they run so a worker killed mid-task loses nothing; a
# task is an idempotent reconcile, so running it twice is harmless.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
# Results are opt-in: with the Redis backend every call of a task keeping its result subscribes
# to a channel for it, which costs more than the publish itself.
CELERY_TASK_IGNORE_RESULT = True
# Celery closes the database connection after every task unless told to reuse it; reopening it
# costs more than a whole scale. Connections still age out at CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_BEAT_SCHEDULE_FILENAME = env_str(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / ".state" / "celerybeat-schedule")
)
HEARTBEAT_SECONDS = env_int("HEARTBEAT_SECONDS", 10, minimum=1)
# Drift made by hand on the cluster is repaired within one period.
RESYNC_SECONDS = env_int("RESYNC_SECONDS", 30, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "apps.core.tasks.heartbeat", "schedule": float(HEARTBEAT_SECONDS)},
    # A cycle still queued when the next is due is dropped rather than run twice in a row.
    "resync": {
        "task": "apps.platform.tasks.resync",
        "schedule": float(RESYNC_SECONDS),
        "options": {"expires": float(RESYNC_SECONDS)},
    },
}

# Kubernetes: a kubeconfig file when KUBECONFIG is set, the pod's service account otherwise.
KUBECONFIG = existing_file("KUBECONFIG", env_str("KUBECONFIG")) if env_str("KUBECONFIG", "") else ""
KUBE_CONTEXT = env_str("KUBE_CONTEXT", "")
KUBE_REQUEST_TIMEOUT = env_int("KUBE_REQUEST_TIMEOUT", 10, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# In DEBUG, WhiteNoise serves from the source folders; otherwise from collectstatic's output.
STATIC_ROOT = None if DEBUG else Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEVELOPMENT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS as the proxy in front saw it: apps.core.clients.ForwardedHeaders drops the header from
# anyone but a trusted proxy, so a client cannot claim it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Sent on HTTPS responses only. Subdomains are left out: app URLs may live under the
# dashboard's domain and be served on plain HTTP (HSTS_INCLUDE_SUBDOMAINS turns it on).
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 0 if DEVELOPMENT else 365 * 86400)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", False)
# TLS ends at the ingress or load balancer, which redirects plain HTTP itself; the probes reach
# the pods over HTTP. SECURE_SSL_REDIRECT=true redirects here too (the probes excepted).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^(livez|readyz|healthz)$"]
# Choices documented above, not oversights (preload needs every subdomain on HTTPS).
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W008", "security.W021"]
# No inline script, no eval, nothing from elsewhere; inline styles only (htmx's indicator style
# and the rollout bars' widths). Every browser test fails on a violation (tests/conftest.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"kubernetes": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}

# Each app lives in a namespace of its own, named with this prefix; a name that would land in a
# reserved namespace (kube-*, default, the platform's own, RESERVED_NAMESPACES) is refused.
APP_NAMESPACE_PREFIX = os.environ.get("APP_NAMESPACE_PREFIX", "app-").strip()
if not re.fullmatch(r"(?:[a-z0-9][-a-z0-9]{0,31})?", APP_NAMESPACE_PREFIX):
    raise ImproperlyConfigured(
        f"APP_NAMESPACE_PREFIX={APP_NAMESPACE_PREFIX!r} must be up to 32 lowercase letters, digits "
        "and dashes, starting with a letter or digit"
    )
# The namespace the platform itself runs in (the chart sets it): never an app's.
PLATFORM_NAMESPACE = env_label("POD_NAMESPACE", "")
RESERVED_NAMESPACES = frozenset(
    env_list("RESERVED_NAMESPACES", ["default", "kube-system", "kube-public", "kube-node-lease"])
    + ([PLATFORM_NAMESPACE] if PLATFORM_NAMESPACE else [])
)
# Every object this installation creates on the cluster carries this id, and it lists, changes
# and deletes no object without it, so two installations (or a restored backup) sharing a cluster
# never touch each other's apps. Blank: the id stored in the database, made once on first use;
# when set, a database holding another id is refused.
INSTALLATION_ID = env_label("INSTALLATION_ID", "")
# A resync that would delete more objects than this deletes none and raises an alarm instead.
MAX_DELETIONS_PER_RESYNC = env_int("MAX_DELETIONS_PER_RESYNC", 20, minimum=0)
# RoleBindings made in every app namespace, as ClusterRole=namespace/ServiceAccount pairs (the
# chart sets them): reading Secrets, logs and exec are granted there and nowhere else.
NAMESPACE_ACCESS: list[tuple[str, str, str]] = []  # (cluster role, namespace, service account)
for _entry in env_list("NAMESPACE_ACCESS", []):
    _found = re.fullmatch(
        r"([a-z0-9][-a-z0-9.:]*)=([a-z0-9][-a-z0-9]*)/([a-z0-9][-a-z0-9.]*)", _entry
    )
    if not _found:
        raise ImproperlyConfigured(
            f"NAMESPACE_ACCESS entry {_entry!r} must read CLUSTERROLE=NAMESPACE/SERVICEACCOUNT"
        )
    NAMESPACE_ACCESS.append((_found[1], _found[2], _found[3]))
# Where app pods may run: node labels they require and taints they tolerate. The local cluster's
# real node is tainted paas.dev/node=real:NoSchedule, so bin/run sets both to land apps there.
APP_NODE_SELECTOR = env_node_selector("APP_NODE_SELECTOR")
APP_TOLERATIONS = env_tolerations("APP_TOLERATIONS")
# A rollout that makes no progress for this long (new dynos never turning ready) is reported
# failed; the dynos of the release before keep serving.
ROLLOUT_TIMEOUT_SECONDS = env_int("ROLLOUT_TIMEOUT_SECONDS", 600, minimum=10)
# Shown to API clients as the apps' region, and the domain their web URLs sit under (none: no
# web URL is shown until ingress exists).
PAAS_REGION = env_str("PAAS_REGION", "local")
PAAS_APPS_DOMAIN = env_str("PAAS_APPS_DOMAIN", "")
# `heroku run` sessions: the TLS port `manage.py rendezvous` serves, the host the CLI reaches it
# at (blank: the host the API was reached at), and its certificate and key.
RENDEZVOUS_PORT = env_int("RENDEZVOUS_PORT", 5001, minimum=1)
RENDEZVOUS_HOST = env_str("RENDEZVOUS_HOST", "")
RENDEZVOUS_CERT = env_str("RENDEZVOUS_CERT", "")
RENDEZVOUS_KEY = env_str("RENDEZVOUS_KEY", "")
# Whether the API hands out attach URLs: a rendezvous server is running (here, or beside it).
RENDEZVOUS_ENABLED = env_bool("RENDEZVOUS_ENABLED", bool(RENDEZVOUS_CERT))
