from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.platform.models import App, Dyno, DynoSize, Operation, ProcessStatus, ProcessType
from apps.platform.services import ProcessChange, formation_update

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def web(bob, app: App) -> ProcessType:
    formation_update(actor=bob, app=app, changes=[ProcessChange("web", 1, command="serve")])
    return app.process_types.get(name="web")


def _settle(app: App) -> None:
    app.operations.update(status=Operation.Status.SUCCEEDED)
    for process in app.process_types.all():
        ProcessStatus.objects.update_or_create(
            app=app,
            name=process.name,
            defaults={
                "desired": process.quantity,
                "ready": process.quantity,
                "updated": process.quantity,
                "available": process.quantity,
                "state": ProcessStatus.State.COMPLETE,
            },
        )


def test_another_teams_app_does_not_exist(client, charlie, other_team, app):
    client.force_login(charlie)
    for page in ("", "rollout", "config", "releases", "logs", "activity", "deploy"):
        assert client.get(f"/apps/billing/{page}").status_code == 404, page
    response = client.post("/apps/billing/scale", {"process": "web", "quantity": 3})
    assert response.status_code == 404
    assert not ProcessType.objects.filter(app=app).exists()


def test_it_shows_the_formation_with_a_slider_and_a_size_picker(bob_client, web):
    content = bob_client.get("/apps/billing/").content.decode()
    assert 'type="range" id="qty-web" min="0" max="10" value="1"' in content
    assert 'type="number" id="qty-web-out" name="quantity" min="0" max="100" value="1"' in content
    assert '<option value="standard-2x"' in content
    assert "serve" in content
    assert 'hx-trigger="change, submit"' in content  # one request on release, not one per step


def test_the_slider_scales_with_one_htmx_request(bob_client, app, web):
    response = bob_client.post(
        "/apps/billing/scale",
        {"process": "web", "quantity": "3", "size": "standard-2x"},
        headers=HTMX,
    )
    assert response.status_code == 200
    web.refresh_from_db()
    assert (web.quantity, web.size.name) == (3, "standard-2x")
    content = response.content.decode()
    assert 'id="formation"' in content
    assert "<html" not in content
    # The rollout section comes along out of band, polling until the change settles.
    assert 'hx-swap-oob="true"' in content
    assert 'hx-trigger="every 1s"' in content
    assert "Scale: <strong>Queued</strong>" in content


def test_without_javascript_the_form_posts_and_redirects(bob_client, web):
    response = bob_client.post("/apps/billing/scale", {"process": "web", "quantity": "2"})
    assert response.status_code == 302
    assert response["Location"] == "/apps/billing/"
    web.refresh_from_db()
    assert web.quantity == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"process": "web", "quantity": "-1"}, "greater than or equal to 0"),
        ({"process": "web", "quantity": "101"}, "less than or equal to 100"),
        ({"process": "web", "quantity": "lots"}, "Enter a whole number"),
        ({"process": "web", "size": "gigantic"}, "Unknown dyno size"),
        ({"process": "Web!", "quantity": "1"}, "process type"),
        # It made a process type without a command, where the API answers 404.
        ({"process": "nope", "quantity": "1"}, "billing has no process type nope."),
    ],
)
def test_bad_input_shows_an_error_and_changes_nothing(bob_client, app, web, data, message):
    before = list(Operation.objects.filter(app=app).values_list("pk", flat=True))
    response = bob_client.post("/apps/billing/scale", data, headers=HTMX)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    web.refresh_from_db()
    assert (web.quantity, web.size.name) == (1, "basic")
    assert list(app.process_types.values_list("name", flat=True)) == ["web"]
    assert list(Operation.objects.filter(app=app).values_list("pk", flat=True)) == before


def test_autoscaled_types_show_a_range_instead_of_a_slider(bob_client, app, web):
    response = bob_client.post(
        "/apps/billing/autoscale",
        {"process": "web", "enabled": "on", "minimum": "2", "maximum": "6", "cpu_percent": "60"},
        headers=HTMX,
    )
    assert response.status_code == 200
    web.refresh_from_db()
    assert (web.autoscale_min, web.autoscale_max, web.autoscale_cpu_percent) == (2, 6, 60)
    content = response.content.decode()
    assert "autoscaled 2\u20136 at 60% CPU" in content
    assert 'id="qty-web"' not in content
    data = {"process": "web", "quantity": "9"}
    refused = bob_client.post("/apps/billing/scale", data, headers=HTMX)
    assert "is autoscaled between 2 and 6" in refused.content.decode()


def test_restart_of_one_dyno(bob_client, app, web):
    Dyno.objects.create(
        app=app,
        process_type="web",
        number=1,
        pod_name="billing-web-abc",
        pod_uid="u1",
        state=Dyno.State.UP,
        ready=True,
        created=timezone.now(),
    )
    response = bob_client.post("/apps/billing/restart", {"target": "web.1"}, headers=HTMX)
    assert response.status_code == 200
    operation = app.operations.get(kind=Operation.Kind.RESTART)
    assert (operation.target, operation.pods) == ("web.1", ["billing-web-abc"])
    missing = bob_client.post("/apps/billing/restart", {"target": "web.7"}, headers=HTMX)
    assert "billing has no dyno web.7" in missing.content.decode()


def test_the_rollout_poll_stops_once_settled(bob_client, app, web):
    moving = bob_client.get("/apps/billing/rollout", headers=HTMX)
    assert moving.status_code == 200
    assert 'hx-trigger="every 1s"' in moving.content.decode()
    _settle(app)
    settled = bob_client.get("/apps/billing/rollout", headers=HTMX)
    assert settled.status_code == 286
    assert "every 1s" not in settled.content.decode()


def test_the_rollout_explains_failures(bob_client, app, web):
    _settle(app)
    ProcessStatus.objects.filter(app=app).update(
        state=ProcessStatus.State.FAILED, ready=0, message="The image cannot be pulled"
    )
    Dyno.objects.create(
        app=app,
        process_type="web",
        number=2,
        pod_name="billing-web-x",
        pod_uid="u2",
        state=Dyno.State.STARTING,
        reason="The image cannot be pulled",
        message="Back-off pulling image",
        created=timezone.now(),
    )
    content = bob_client.get("/apps/billing/rollout", headers=HTMX).content.decode()
    assert "The image cannot be pulled" in content
    assert "Back-off pulling image" in content
    assert 'aria-label="web ready" aria-valuemin="0" aria-valuemax="1" aria-valuenow="0"' in content


def test_the_overview_takes_a_constant_number_of_queries(bob_client, bob, app, web):
    _settle(app)
    with CaptureQueriesContext(connection) as few:
        assert bob_client.get("/apps/billing/").status_code == 200
    basic = DynoSize.objects.get(name="basic")
    for i in range(20):
        ProcessType.objects.create(app=app, name=f"worker{i}", quantity=3, size=basic)
        for n in range(3):
            Dyno.objects.create(
                app=app,
                process_type=f"worker{i}",
                number=n + 1,
                pod_name=f"p-{i}-{n}",
                pod_uid=f"uid-{i}-{n}",
                state=Dyno.State.UP,
                created=timezone.now(),
            )
    _settle(app)
    with CaptureQueriesContext(connection) as many:
        response = bob_client.get("/apps/billing/")
    assert b"worker19.3" in response.content
    assert len(many) == len(few)


def test_destroy_asks_for_the_name(bob_client, app):
    refused = bob_client.post("/apps/billing/destroy", {"confirm": "bill"})
    assert refused.status_code == 400
    assert b"Type billing to destroy this app" in refused.content
    assert App.objects.filter(name="billing").exists()
    done = bob_client.post("/apps/billing/destroy", {"confirm": "billing"})
    assert done.status_code == 302
    assert not App.objects.filter(name="billing").exists()
