"""This installation's identity: the id on every object it creates, and the filter on everything
it lists, watches, changes and deletes on the cluster."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from apps.kube.adapter import Cluster
from apps.platform.models import Installation

_known: str | None = None


def installation() -> Installation:
    """The one row, made on first use from INSTALLATION_ID or a new random id. A database that
    holds another id than the configured one belongs to another installation: refused."""
    configured = settings.INSTALLATION_ID
    found = Installation.objects.first()
    if found is None:
        try:
            with transaction.atomic():
                found = Installation.objects.create(pk=1, uid=configured or uuid.uuid4().hex)
        except IntegrityError:  # another process made it first
            found = Installation.objects.get()
    if configured and found.uid != configured:
        raise ImproperlyConfigured(
            f"INSTALLATION_ID={configured!r}, but this database belongs to installation "
            f"{found.uid!r}: point DATABASE_URL at this installation's database, or set "
            f"INSTALLATION_ID={found.uid}"
        )
    return found


def installation_id() -> str:
    """Read once per process: it never changes once made."""
    global _known
    if _known is None:
        _known = installation().uid
    return _known


def cluster() -> Cluster:
    """A client of the configured cluster that sees and touches only this installation's objects."""
    from apps.kube.client import api_client

    return Cluster(api_client(), installation=installation_id())
