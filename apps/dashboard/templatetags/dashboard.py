"""Filters that render records for people: log text with its colours, audit records in words."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from apps.logs.ansi import ansi_to_html
from apps.logs.events import event_text
from apps.platform.models import Activity

register = template.Library()


@register.filter
def ansi(text: str) -> SafeString:
    # ansi_to_html escapes every character of its input; only its own spans are markup.
    return mark_safe(ansi_to_html(text))


@register.filter
def age(moment: datetime) -> str:
    """How long ago, in the one unit that matters, as `ps` shows it: 42s, 5m, 3h, 2d."""
    seconds = max(0, int((timezone.now() - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@register.filter
def event(activity: Activity) -> str:
    actor = activity.actor.get_username() if activity.actor else None
    return event_text(activity.action, activity.before, activity.after, actor)
