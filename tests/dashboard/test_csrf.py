from __future__ import annotations

import pytest
from django.test import Client

from apps.platform.models import ProcessType

pytestmark = pytest.mark.django_db


def test_a_post_without_the_csrf_token_is_refused(bob, app):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    response = client.post("/apps/billing/scale", {"process": "web", "quantity": "3"})
    assert response.status_code == 403
    assert not ProcessType.objects.filter(app=app).exists()


def test_every_form_and_htmx_request_carries_the_token(bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    page = client.get("/teams").content.decode()
    token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    assert page.count('name="csrfmiddlewaretoken"') == page.count('method="post"')
    response = client.post(
        "/teams", {"name": "initech"}, headers={"X-CSRFToken": token, "HX-Request": "true"}
    )
    assert response.status_code == 302
