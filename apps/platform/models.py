"""Desired state, stored first: what the user asked for, before the cluster is made to match."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.platform.validators import validate_app_name, validate_process_type


class Team(models.Model):
    name = models.SlugField(max_length=50, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    # Set by site administrators; blank is no limit (apps/platform/quotas.py). Dynos count an
    # autoscaled process type at its maximum, CPU and memory at each dyno's size limits.
    quota_apps = models.PositiveIntegerField(null=True, blank=True)
    quota_dynos = models.PositiveIntegerField(null=True, blank=True)
    quota_cpu_millicores = models.PositiveIntegerField(null=True, blank=True)
    quota_memory_mib = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in a team: team admins manage its members and every one of its apps."""

    class Role(models.TextChoices):
        ADMIN = "admin"
        MEMBER = "member"

    class Source(models.TextChoices):
        MANUAL = "manual", "added in the dashboard or the API"
        GROUP = "group", "granted by a group at the sign-in provider"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Who owns the membership: sign-in follows the provider's groups (apps/platform/team_groups.py)
    # only for memberships it made itself, and never changes or removes one added by hand.
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class OidcIdentity(models.Model):
    """The account at the OpenID Connect provider that signs a user in: its subject, which the
    provider never gives to anyone else, where an email address may change hands."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique"),
            models.UniqueConstraint(fields=["issuer", "user"], name="oidc_identity_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.subject} at {self.issuer}"


class DynoSize(models.Model):
    """A named preset of CPU and memory, like Heroku's dyno types; admins edit the catalogue."""

    name = models.SlugField(max_length=40, unique=True)
    cpu_request_millicores = models.PositiveIntegerField()
    cpu_limit_millicores = models.PositiveIntegerField()
    memory_request_mib = models.PositiveIntegerField()
    memory_limit_mib = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not 0 < self.cpu_request_millicores <= self.cpu_limit_millicores:
            raise ValidationError("The CPU request must be above 0 and at most the CPU limit.")
        if not 0 < self.memory_request_mib <= self.memory_limit_mib:
            raise ValidationError("The memory request must be above 0 and at most the limit.")


class App(models.Model):
    name = models.CharField(max_length=30, unique=True, validators=[validate_app_name])
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="apps")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    namespace = models.CharField(max_length=63, unique=True)
    # Labels every object of the app on the cluster, so a recreated app with the same name never
    # adopts what its predecessor left behind.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The key its config values are sealed with, wrapped (apps/platform/encryption.py).
    data_key = models.TextField(blank=True, editable=False)
    # What the reconciler last applied, as object id -> digest of the manifest: a change is sent
    # without reading the cluster first, and an unchanged app costs no request.
    digests = models.JSONField(default=dict, blank=True, editable=False)
    maintenance = models.BooleanField(default=False)
    # Features switched away from their default, as name -> enabled (apps/platform/features.py).
    features = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Collaborator(models.Model):
    """Heroku's per-app permissions for someone who is not an admin of the app's team:
    any of view, deploy, operate and manage (view is always included)."""

    PERMISSIONS = ("view", "deploy", "operate", "manage")

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="collaborators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collaborations"
    )
    permissions = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__email"]
        constraints = [models.UniqueConstraint(fields=["app", "user"], name="collaborator_unique")]

    def __str__(self) -> str:
        return f"{self.user} on {self.app}: {', '.join(self.permissions)}"


class HealthCheck(models.TextChoices):
    NONE = "none"
    HTTP = "http", "HTTP GET on $PORT"
    TCP = "tcp", "TCP connect to $PORT"
    COMMAND = "command"


class ProcessType(models.Model):
    """One Procfile entry and its formation: how many dynos of which size run it."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="process_types")
    name = models.CharField(max_length=30, validators=[validate_process_type])
    command = models.TextField(blank=True)
    quantity = models.PositiveIntegerField(default=0)
    size = models.ForeignKey(DynoSize, on_delete=models.PROTECT, related_name="+")
    # Autoscaling is on when both bounds are set: an HPA then owns the replica count.
    autoscale_min = models.PositiveIntegerField(null=True, blank=True)
    autoscale_max = models.PositiveIntegerField(null=True, blank=True)
    autoscale_cpu_percent = models.PositiveSmallIntegerField(default=70)
    healthcheck = models.CharField(
        max_length=10, choices=HealthCheck.choices, default=HealthCheck.NONE
    )
    healthcheck_path = models.CharField(max_length=200, default="/", blank=True)
    healthcheck_command = models.TextField(blank=True)
    healthcheck_initial_delay = models.PositiveSmallIntegerField(default=0)
    healthcheck_timeout = models.PositiveSmallIntegerField(default=5)
    # Zero-downtime by default: a new dyno must be ready before an old one stops.
    max_surge = models.CharField(max_length=8, default="25%")
    max_unavailable = models.CharField(max_length=8, default="0")
    restarted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="process_type_unique_per_app")
        ]

    def __str__(self) -> str:
        return f"{self.app.name}/{self.name}"

    @property
    def autoscaled(self) -> bool:
        return self.autoscale_min is not None and self.autoscale_max is not None


class ConfigVar(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="config_vars")
    key = models.CharField(max_length=256)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["app", "key"], name="config_key_unique")]

    def __str__(self) -> str:
        return self.key


class Release(models.Model):
    """Immutable and numbered per app: what ran, with which config and commands, and why."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="releases")
    # The release's identity in the API, as Heroku's ids are UUIDs (rollback names one).
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.PositiveIntegerField()
    image = models.CharField(max_length=512, blank=True)
    config = models.JSONField(default=dict)
    commands = models.JSONField(default=dict)
    description = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["app", "version"], name="release_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.app.name} v{self.version}"


class Operation(models.Model):
    """Every asynchronous change, from accepted to its outcome, with an error a user can read."""

    class Kind(models.TextChoices):
        CREATE = "create"
        DEPLOY = "deploy"
        CONFIG = "config"
        SCALE = "scale"
        RESTART = "restart"
        ROLLBACK = "rollback"
        DESTROY = "destroy"
        AUTOSCALE = "autoscale"
        SETTINGS = "settings"
        RUN = "run"

    class Status(models.TextChoices):
        QUEUED = "queued"
        APPLYING = "applying"
        ROLLING_OUT = "rolling_out", "rolling out"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SUPERSEDED = "superseded"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.SET_NULL)
    # What a restart applies to: a process type, a dyno (web.2), or everything when blank.
    target = models.CharField(max_length=64, blank=True)
    # The pods to delete for a one-dyno restart, fixed when it is accepted.
    pods = models.JSONField(default=list, blank=True)
    # What a one-off dyno runs: {"name", "number", "command", "size", "env", "ttl"}.
    run = models.JSONField(default=dict, blank=True)
    # Process type -> the generation of its Deployment this operation waits to see rolled out.
    generations = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["app", "status"]),
            # An app's latest operation, and the few still active, without reading its history:
            # the apps list asks both for every row.
            models.Index(fields=["app", "-created"], name="operation_latest"),
            models.Index(
                fields=["app"],
                name="operation_active",
                condition=models.Q(status__in=("queued", "applying", "rolling_out")),
            ),
        ]

    ACTIVE = (Status.QUEUED, Status.APPLYING, Status.ROLLING_OUT)

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"


class Activity(models.Model):
    """Who did what, when, with the state before and after; kept when the app is destroyed."""

    app = models.ForeignKey(
        App, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    app_name = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.app_name}: {self.action}"


class ProcessStatus(models.Model):
    """What the cluster reports for one process type's Deployment: the observed state."""

    class State(models.TextChoices):
        PENDING = "pending"
        PROGRESSING = "progressing"
        COMPLETE = "complete"
        FAILED = "failed"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="process_statuses")
    name = models.CharField(max_length=30)
    generation = models.PositiveBigIntegerField(default=0)
    observed_generation = models.PositiveBigIntegerField(default=0)
    desired = models.PositiveIntegerField(default=0)
    current = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    ready = models.PositiveIntegerField(default=0)
    available = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    message = models.TextField(blank=True)
    changed = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="process_status_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.ready}/{self.desired} ready"


class Dyno(models.Model):
    """One pod of a process type, named web.1, web.2, ... as on Heroku, numbers kept for life."""

    class State(models.TextChoices):
        STARTING = "starting"
        UP = "up"
        CRASHED = "crashed"
        STOPPING = "stopping"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="dynos")
    process_type = models.CharField(max_length=30)
    number = models.PositiveIntegerField()
    pod_name = models.CharField(max_length=253)
    pod_uid = models.CharField(max_length=64, unique=True)
    release = models.PositiveIntegerField(null=True)
    state = models.CharField(max_length=20, choices=State.choices)
    ready = models.BooleanField(default=False)
    restarts = models.PositiveIntegerField(default=0)
    # Why it is not up, in words a user can act on: image cannot be pulled, crash loop, ...
    reason = models.CharField(max_length=60, blank=True)
    message = models.TextField(blank=True)
    created = models.DateTimeField()
    changed = models.DateTimeField(auto_now=True)
    # The pod-template-hash of its Deployment: the dynos of one rollout share it.
    template = models.CharField(max_length=20, blank=True)
    # When a one-off dyno finished; its pod is deleted a while later (controller/resync.py).
    ended = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["process_type", "number"]
        constraints = [
            models.UniqueConstraint(fields=["app", "pod_name"], name="dyno_pod_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"{self.process_type}.{self.number}"


class Installation(models.Model):
    """This installation's identity, one row made once: every object it creates on the cluster
    carries the id, and it touches no object without it. Also where a resync that held back its
    deletions raises the alarm, so every page and /healthz can show it without a cluster read."""

    uid = models.CharField(max_length=63, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    # Set while the resync refuses to delete: how many deletions it held back, and since when.
    deletions_held = models.PositiveIntegerField(default=0)
    deletions_held_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.uid


class Tombstone(models.Model):
    """The proof that a namespace may be deleted: its app was destroyed here (or a site
    administrator deleted it as an orphan). Kept until the namespace is gone from the cluster."""

    app_uid = models.CharField(max_length=64, unique=True)
    app_name = models.CharField(max_length=63)
    namespace = models.CharField(max_length=63)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.app_name} ({self.namespace})"


class Orphan(models.Model):
    """A namespace labelled as this installation's whose app is in no record: never deleted for
    that alone, but shown to site administrators until they adopt or delete it."""

    namespace = models.CharField(max_length=63, unique=True)
    app_uid = models.CharField(max_length=64)
    app_name = models.CharField(max_length=63)
    found = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["namespace"]

    def __str__(self) -> str:
        return self.namespace


class RegistryCredential(models.Model):
    """A login to a container registry that an app's images are pulled from: for one app, or
    for every app of a team (the app's own wins for the same registry). The reconciler writes an
    app's credentials into its namespace as one `kubernetes.io/dockerconfigjson` Secret, which
    its pods name in `imagePullSecrets`."""

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="registry_credentials"
    )
    app = models.ForeignKey(
        App, null=True, blank=True, on_delete=models.CASCADE, related_name="registry_credentials"
    )
    registry = models.CharField(max_length=253)  # host[:port], as image references name it
    username = models.CharField(max_length=255)
    password = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["registry"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(team__isnull=True) ^ models.Q(app__isnull=True),
                name="registry_credential_of_a_team_or_an_app",
            ),
            models.UniqueConstraint(fields=["team", "registry"], name="one_per_team_registry"),
            models.UniqueConstraint(fields=["app", "registry"], name="one_per_app_registry"),
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.registry}"
