from __future__ import annotations

import pytest

from apps.api.tokens import user_for_token

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_works(bob_client, bob):
    response = bob_client.post("/account/tokens", {"name": "laptop"})
    assert response.status_code == 200
    secret = response.content.decode().split('id="new-token">')[1].split("<")[0]
    assert user_for_token(secret) == bob
    listing = bob_client.get("/account/tokens").content.decode()
    assert "laptop" in listing
    assert secret not in listing
    assert secret[:9] in listing  # the prefix, to tell tokens apart


def test_revoking_a_token_stops_it(bob_client, bob):
    bob_client.post("/account/tokens", {"name": "ci"})
    token = bob.api_tokens.get()
    secret_prefix = token.prefix
    assert bob_client.post(f"/account/tokens/{token.pk}/revoke").status_code == 302
    assert not bob.api_tokens.exists()
    assert secret_prefix


def test_users_cannot_revoke_each_others_tokens(client, bob, charlie):
    from apps.api.tokens import token_create

    token, _ = token_create(user=bob, name="mine")
    client.force_login(charlie)
    client.post(f"/account/tokens/{token.pk}/revoke")
    assert bob.api_tokens.filter(pk=token.pk).exists()


def test_a_name_is_required(bob_client, bob):
    response = bob_client.post("/account/tokens", {"name": ""})
    assert response.status_code == 400
    assert not bob.api_tokens.exists()
