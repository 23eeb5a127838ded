from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_it_signs_in_with_the_right_password(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "alice password 1"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_shows_an_error_for_a_wrong_password(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert client.get("/").status_code == 302
