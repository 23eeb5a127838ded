from __future__ import annotations

import ipaddress

import pytest

from apps.core.clients import client_address

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


def _fail(client, path, username, address, **extra):
    return client.post(
        path, {"username": username, "password": "wrong"}, REMOTE_ADDR=address, **extra
    )


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_guessing_one_accounts_password_locks_that_account_from_every_address(client, alice, path):
    """Only the API's sign-in was throttled, per address: the login pages took unlimited
    guesses, and a guesser changing address was never slowed."""
    for number in range(5):
        _fail(client, path, "alice", f"198.51.100.{number}")
    right = {"username": "alice", "password": "alice password 1"}
    refused = client.post(path, right, REMOTE_ADDR="198.51.100.99")
    assert refused.status_code == 429
    assert b"Sign-in paused" in refused.content
    assert client.get("/").status_code == 302  # not signed in


def test_guessing_from_one_address_locks_that_address_for_every_account(client, alice, bob):
    for number in range(5):
        _fail(client, "/login/", f"nobody{number}", "198.51.100.7")
    right = {"username": "bob", "password": "bob password 1"}
    assert client.post("/login/", right, REMOTE_ADDR="198.51.100.7").status_code == 429
    assert client.post("/login/", right, REMOTE_ADDR="198.51.100.8").status_code == 302


def test_behind_a_trusted_proxy_each_client_is_counted_apart(client, alice, bob, settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    proxy = {"REMOTE_ADDR": "10.1.2.3"}
    for number in range(5):
        _fail(client, "/login/", f"nobody{number}", "10.1.2.3", HTTP_X_FORWARDED_FOR="203.0.113.5")
    right = {"username": "bob", "password": "bob password 1"}
    other = client.post("/login/", right, HTTP_X_FORWARDED_FOR="203.0.113.6", **proxy)
    assert other.status_code == 302
    client.logout()  # signed in, the login page would send the guesser on without a check
    guesser = client.post("/login/", right, HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)
    assert guesser.status_code == 429


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),  # no trusted proxy: the header is a lie
        ("10.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.1", "203.0.113.9, 198.51.100.4, 10.0.0.2", "198.51.100.4"),  # rightmost untrusted
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),
        ("10.0.0.1", "not an address", "10.0.0.1"),
        ("10.0.0.1", "", "10.0.0.1"),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(
    rf, settings, remote, forwarded, expected
):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
