from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from apps.platform.models import Activity, Dyno
from apps.platform.services import ProcessChange, formation_update

pytestmark = pytest.mark.django_db


def test_the_page_shows_platform_events_in_words(bob_client, bob, app):
    formation_update(actor=bob, app=app, changes=[ProcessChange("web", 2)])
    content = bob_client.get("/apps/billing/logs").content.decode()
    assert "paas[api]</span>" in content
    assert "Scaled to web@2:basic by user bob" in content
    assert 'data-stream="/apps/billing/logs/stream?process=&amp;dyno=&amp;since=' in content


def test_the_filters_keep_only_known_process_types(bob_client, bob, app):
    formation_update(actor=bob, app=app, changes=[ProcessChange("web", 1)])
    Dyno.objects.create(
        app=app,
        process_type="web",
        number=1,
        pod_name="p1",
        pod_uid="u1",
        state=Dyno.State.UP,
        created=timezone.now(),
    )
    content = bob_client.get("/apps/billing/logs", {"process": "web", "dyno": "web.1"}).content
    assert b'<option value="web" selected>' in content
    assert b'<option value="web.1" selected>' in content
    # One dyno chosen: the app-wide platform events are left out.
    assert b"paas[api]" not in content
    unknown = bob_client.get("/apps/billing/logs", {"process": "<script>"}).content
    assert b"<script>" not in unknown


def test_the_stream_sends_new_events_as_escaped_html(bob_client, bob, app):
    since = datetime.now(UTC).isoformat()
    response = bob_client.get("/apps/billing/logs/stream", {"since": since})
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    Activity.objects.create(
        app=app,
        app_name=app.name,
        actor=bob,
        action="dyno.restart",
        after={"target": "<b>web</b>"},
    )
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 2000\n\n"
    received = b""
    for _ in range(10):
        received += next(chunks)
        if b"Restarted" in received:
            break
    response.close()
    text = received.decode()
    assert text.startswith("id: ")
    assert "Restarted &lt;b&gt;web&lt;/b&gt; dynos by user bob" in text
    assert "<b>" not in text
    assert "Created app" not in text  # it came before `since`: the page showed it already
