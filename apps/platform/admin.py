"""The Django admin: where site administrators edit the dyno size catalogue until the dashboard's
own admin pages exist. Desired state of apps is changed through the services only, so apps and
their history are read-only here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.platform.models import Activity, App, DynoSize, Operation, Team


@admin.register(DynoSize)
class DynoSizeAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "cpu_request_millicores",
        "cpu_limit_millicores",
        "memory_request_mib",
        "memory_limit_mib",
        "position",
    )
    list_editable = ("position",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "created")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(App)
class AppAdmin(ReadOnlyAdmin):
    list_display = ("name", "team", "namespace", "created")
    search_fields = ("name",)


@admin.register(Operation)
class OperationAdmin(ReadOnlyAdmin):
    list_display = ("app", "kind", "status", "created", "finished")
    list_filter = ("status", "kind")


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("app_name", "action", "actor", "created")
    list_filter = ("action",)
