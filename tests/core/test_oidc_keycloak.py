"""Signing in through a real Keycloak (scripts/keycloak, with the realm of
scripts/keycloak-realm.json) in headless Chromium: its login form, the code exchange, the ID
token's checks, the groups claim, and the dashboard that follows."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.error import URLError
from urllib.request import urlopen

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from apps.platform.models import App, Membership, OidcIdentity
from tests.conftest import ROOT, screenshot

# The first test waits for Keycloak too: about half a minute, and on a machine's first run its
# download and first build as well.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.timeout(600),
]
KEYCLOAK = ROOT / "scripts" / "keycloak"
REALM = json.loads((ROOT / "scripts" / "keycloak-realm.json").read_text())


def _answers(issuer: str) -> bool:
    try:
        with urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2):
            return True
    except (URLError, OSError):
        return False


@pytest.fixture(scope="session")
def keycloak() -> Iterator[str]:
    """Keycloak for this session's profile, started once (it takes about half a minute) and
    stopped after, unless it was running already; its issuer URL."""
    issuer = subprocess.run(
        [KEYCLOAK, "url"], capture_output=True, text=True, check=True
    ).stdout.strip()
    already_running = _answers(issuer)
    subprocess.run([KEYCLOAK, "up"], check=True, timeout=600)
    yield issuer
    if not already_running:
        subprocess.run([KEYCLOAK, "down"], check=True, timeout=60)


@pytest.fixture
def keycloak_sign_in(oidc: Any, keycloak: str) -> Any:
    client = REALM["clients"][0]
    oidc.OIDC_ISSUER = keycloak
    oidc.OIDC_RP_CLIENT_ID = client["clientId"]
    oidc.OIDC_RP_CLIENT_SECRET = client["secret"]
    return oidc


def sign_in_at_keycloak(page: Page, base: str, username: str, *, shot: str = "") -> None:
    page.goto(f"{base}/login/")
    page.get_by_role("link", name="Sign in with Keycloak").click()
    # Keycloak's own form (its ids are stable across its themes).
    expect(page.locator("#kc-login")).to_be_visible()
    page.locator("#username").fill(username)
    page.locator("#password").fill(f"{username} password 1")
    if shot:
        screenshot(page, shot)
    page.locator("#kc-login").click()


def test_a_member_of_a_mapped_group_sees_the_teams_apps_and_no_others(
    page: Page, live_server: Any, keycloak_sign_in: Any, team: Any, other_team: Any
) -> None:
    """dora is in Keycloak's group /acme, which the mapping makes a member of acme."""
    App.objects.create(name="billing", team=team, namespace="app-billing")
    App.objects.create(name="payroll", team=other_team, namespace="app-payroll")
    sign_in_at_keycloak(page, live_server.url, "dora", shot="oidc-keycloak-form")
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("link", name="billing", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="payroll", exact=True)).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("dora")
    screenshot(page, "oidc-keycloak-dashboard")
    dora = User.objects.get(username="dora")
    assert dora.email == "dora@example.org"
    assert OidcIdentity.objects.get(user=dora).issuer == keycloak_sign_in.OIDC_ISSUER
    membership = Membership.objects.get(user=dora)
    assert (membership.team, membership.role, membership.source) == (team, "member", "group")


def test_a_deactivated_account_comes_back_to_the_login_page_with_why(
    page: Page, live_server: Any, keycloak_sign_in: Any
) -> None:
    """erin's Keycloak email is verified and names this deactivated account."""
    User.objects.create_user("erin", "erin@example.org", is_active=False)
    sign_in_at_keycloak(page, live_server.url, "erin")
    expect(page.get_by_role("status")).to_have_text(
        "This account is deactivated. Ask a site administrator."
    )
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_role("link", name="Sign in with Keycloak")).to_be_visible()
    screenshot(page, "oidc-keycloak-refused")
    assert not OidcIdentity.objects.exists()
