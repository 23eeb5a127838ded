"""What every response tells the browser, and which forwarded headers are believed."""

from __future__ import annotations

import ipaddress

import pytest

pytestmark = pytest.mark.django_db


def test_every_page_carries_a_content_security_policy_without_inline_script(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"]


def test_https_is_believed_only_from_a_trusted_proxy(client, settings):
    """SECURE_PROXY_SSL_HEADER trusts X-Forwarded-Proto from whoever sends it; a client on
    plain HTTP could claim HTTPS (and get HSTS, secure-only cookies, https links)."""
    settings.SECURE_HSTS_SECONDS = 3600
    claimed = client.get("/login/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="198.51.100.1")
    assert "Strict-Transport-Security" not in claimed
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    proxied = client.get("/login/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.5")
    assert proxied["Strict-Transport-Security"] == "max-age=3600"
