from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
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


def test_one_user_holds_at_most_four_streams_and_a_closed_one_frees_its_place(bob_client, bob, app):
    """Each open stream holds a web thread: eight tabs stalled every page, the API and the
    readiness probe."""
    opened = [bob_client.get("/apps/billing/logs/stream") for _ in range(4)]
    assert [r.status_code for r in opened] == [200] * 4
    refused = bob_client.get("/apps/billing/logs/stream")
    assert refused.status_code == 429
    assert b"4 log streams are open already" in refused.content
    _close(opened[0])  # as the server does when the browser goes away
    again = bob_client.get("/apps/billing/logs/stream")
    assert again.status_code == 200
    for response in [*opened[1:], again]:
        _close(response)


def _close(response):
    """Closes the response as the server would, without the end-of-request signal closing the
    test's own database connection (the test client keeps it away from its requests too)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def test_a_stream_ends_after_its_maximum_age_for_the_browser_to_reconnect(
    bob_client, bob, app, monkeypatch
):
    from apps.platform import logs

    monkeypatch.setattr(logs, "STREAM_SECONDS", 0)
    response = bob_client.get("/apps/billing/logs/stream")
    assert b"".join(response.streaming_content) == b"retry: 2000\n\n"


def test_the_page_reads_only_the_last_events_of_a_long_history(bob_client, bob, app):
    """Every logs page read the app's whole Activity history to show its last 200 lines."""
    Activity.objects.bulk_create(
        Activity(
            app=app,
            app_name=app.name,
            actor=bob,
            action="dyno.restart",
            after={"target": f"web.{n}"},
        )
        for n in range(1, 301)
    )
    with CaptureQueriesContext(connection) as queries:
        content = bob_client.get("/apps/billing/logs").content.decode()
    (read,) = [q["sql"] for q in queries if 'FROM "platform_activity"' in q["sql"]]
    assert "LIMIT 200" in read
    assert "Restarted web.300 by user bob" in content
    assert "Restarted web.100 by user bob" not in content  # the 201st from the end
    assert content.index("Restarted web.299 ") < content.index("Restarted web.300 ")


def test_a_dyno_filter_with_a_nul_shows_the_page(bob_client, app):
    """The database refuses a NUL: the filter reached it and answered 500."""
    assert bob_client.get("/apps/billing/logs", {"dyno": "web.1\x00"}).status_code == 200
    stream = bob_client.get("/apps/billing/logs/stream", {"dyno": "\x00"})
    assert stream.status_code == 200
    _close(stream)
