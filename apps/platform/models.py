"""Desired state, stored first: what the user asked for, before the cluster is made to match."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.platform.validators import validate_app_name, validate_process_type


class Team(models.Model):
    name = models.SlugField(max_length=50, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


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


class App(models.Model):
    name = models.CharField(max_length=30, unique=True, validators=[validate_app_name])
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="apps")
    namespace = models.CharField(max_length=63, unique=True)
    maintenance = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class ProcessType(models.Model):
    """One Procfile entry and its formation: how many dynos of which size run it."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="process_types")
    name = models.CharField(max_length=30, validators=[validate_process_type])
    command = models.TextField(blank=True)
    quantity = models.PositiveIntegerField(default=0)
    size = models.ForeignKey(DynoSize, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="process_type_unique_per_app")
        ]

    def __str__(self) -> str:
        return f"{self.app.name}/{self.name}"


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
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["app", "status"])]

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
