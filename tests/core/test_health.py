from __future__ import annotations

import pytest

from apps.core.heartbeat import KEY

pytestmark = pytest.mark.django_db


def test_it_reports_every_dependency_up(client, celery_worker, redis_client):
    from apps.core.tasks import heartbeat

    heartbeat.delay().get(timeout=10)

    response = client.get("/healthz", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    body = response.json()
    assert body["healthy"] is True
    checks = {check["name"]: check for check in body["checks"]}
    assert set(checks) == {"database", "redis", "celery", "cluster", "ownership", "encryption"}
    assert all(check["ok"] for check in checks.values()), checks
    assert checks["database"]["detail"].startswith("PostgreSQL")
    assert checks["cluster"]["detail"].startswith("Kubernetes v1.")
    assert "scheduler heartbeat" in checks["celery"]["detail"]


def test_it_reports_redis_down_with_503(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port

    response = client.get("/healthz?format=json")

    assert response.status_code == 503
    checks = {check["name"]: check for check in response.json()["checks"]}
    assert checks["redis"]["ok"] is False
    assert "Connection" in checks["redis"]["detail"]


def test_it_reports_a_stale_scheduler(client, celery_worker, redis_client, settings):
    redis_client.set(KEY, "0")  # a heartbeat from 1970

    response = client.get("/healthz?format=json")

    checks = {check["name"]: check for check in response.json()["checks"]}
    assert response.status_code == 503
    assert checks["celery"]["ok"] is False
    assert "scheduler's last heartbeat" in checks["celery"]["detail"]


def test_it_renders_a_page_for_people(client, celery_worker):
    response = client.get("/healthz")

    assert response["Content-Type"].startswith("text/html")
    assert b"Platform health" in response.content
    assert b"cluster" in response.content


def test_livez_answers_without_touching_any_dependency(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.content == b"ok"
