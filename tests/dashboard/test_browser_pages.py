"""The pages in headless Chromium without the cluster: search as you type, errors inline, the
keyboard, a phone-sized screen, and the administration pages. Screenshots for a reviewer."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from apps.platform.models import App, Membership, ProcessType
from apps.platform.services import ProcessChange, app_create, formation_update
from tests.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: Page, base: str, username: str, password: str) -> Page:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    return page


def settled(page: Page) -> None:
    """Waits for htmx to finish swapping, so the next action finds the new elements."""
    # A locator, not a script: the Content Security Policy allows no eval in the page.
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


@pytest.fixture
def apps(bob: Any, team: Any) -> list[App]:
    made = [app_create(actor=bob, team=team, name=n) for n in ("billing", "shop", "search-api")]
    for app in made:
        formation_update(actor=bob, app=app, changes=[ProcessChange("web", 2, command="serve")])
    return made


def test_sign_in_shows_errors_and_then_the_apps(page: Page, live_server: Any, bob: Any) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    screenshot(page, "sign-in")
    sign_in(page, live_server.url, "bob", "bob password 1")


def test_the_list_filters_as_you_type(page: Page, live_server: Any, apps: list[App]) -> None:
    sign_in(page, live_server.url, "bob", "bob password 1")
    rows = page.locator("#app-rows tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate("window.loaded = true")  # gone if the page were reloaded instead of swapped
    page.get_by_label("Search apps").press_sequentially("sho", delay=30)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("shop")
    assert page.evaluate("window.loaded") is True
    assert page.url.endswith("/?q=sho&state=")
    screenshot(page, "apps-search")


def test_create_app_shows_errors_inline(page: Page, live_server: Any, bob: Any, team: Any) -> None:
    sign_in(page, live_server.url, "bob", "bob password 1")
    page.get_by_role("link", name="New app").click()
    page.get_by_label("Name").fill("Bad_Name")
    page.get_by_role("button", name="Create app").click()
    expect(page.locator(".errorlist")).to_contain_text("is not a valid app name")
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "app-create-error")
    assert not App.objects.exists()


def test_the_formation_works_from_the_keyboard(
    page: Page, live_server: Any, apps: list[App]
) -> None:
    sign_in(page, live_server.url, "bob", "bob password 1")
    page.goto(f"{live_server.url}/apps/billing/")
    slider = page.get_by_label("web dynos (slider)")
    slider.focus()
    with page.expect_response(lambda r: r.url.endswith("/scale")):
        page.keyboard.press("ArrowRight")
    settled(page)
    expect(page.get_by_label("web dynos", exact=True)).to_have_value("3")
    assert ProcessType.objects.get(app__name="billing", name="web").quantity == 3
    number = page.get_by_label("web dynos", exact=True)
    number.fill("12")
    with page.expect_response(lambda r: r.url.endswith("/scale")):
        number.press("Tab")  # leaving the field is a change
    settled(page)
    expect(page.get_by_label("web dynos", exact=True)).to_have_value("12")
    assert ProcessType.objects.get(app__name="billing", name="web").quantity == 12
    with page.expect_response(lambda r: r.url.endswith("/scale")):
        page.get_by_label("web dyno size").select_option("performance-m")
    expect(page.get_by_label("web dyno size")).to_have_value("performance-m")
    assert ProcessType.objects.get(app__name="billing", name="web").size.name == "performance-m"


def test_a_phone_sized_screen_needs_no_sideways_scrolling(
    browser: Browser, live_server: Any, apps: list[App]
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = sign_in(context.new_page(), live_server.url, "bob", "bob password 1")
    for path, name in [
        ("/", "phone-apps"),
        ("/apps/billing/", "phone-overview"),
        ("/apps/billing/config", "phone-config"),
        ("/apps/billing/settings", "phone-settings"),
    ]:
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
        screenshot(page, name)
    context.close()


def test_settings_rename_the_app_and_switch_a_feature(
    page: Page, live_server: Any, apps: list[App]
) -> None:
    sign_in(page, live_server.url, "bob", "bob password 1")
    page.goto(f"{live_server.url}/apps/billing/")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Turn preboot off").click()
    expect(page.locator('[data-feature="preboot"] .state')).to_have_text("off")
    page.get_by_label("New name").fill("shop")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator(".errorlist")).to_contain_text("The name shop is already taken.")
    page.get_by_label("New name").fill("billing-eu")
    page.get_by_role("button", name="Rename").click()
    expect(page).to_have_url(f"{live_server.url}/apps/billing-eu/settings")
    expect(page.get_by_role("heading", level=1)).to_contain_text("billing-eu")
    screenshot(page, "settings")
    renamed = App.objects.get(name="billing-eu")
    assert (renamed.namespace, renamed.features) == (apps[0].namespace, {"preboot": False})


def test_admin_pages(
    page: Page, live_server: Any, root: Any, apps: list[App], charlie: Any
) -> None:
    # An app no worker of the session reconciles: its failed deploy stays its last outcome.
    broken = App.objects.create(name="broken", team=apps[0].team, namespace="app-broken")
    broken.operations.create(kind="deploy", status="failed", error="The image is missing")
    sign_in(page, live_server.url, "root", "root password 1")
    page.get_by_role("link", name="Fleet").click()
    expect(page.locator("table").first).to_contain_text("broken")
    screenshot(page, "fleet")
    page.get_by_role("link", name="Activity").click()
    expect(page.locator("table.activity")).to_contain_text("Scaled to web@2:basic by user bob")
    screenshot(page, "activity-global")
    page.get_by_role("link", name="Sizes").click()
    page.locator("tr", has_text="standard-1x").get_by_role("link", name="Edit").click()
    page.get_by_label("Cpu limit millicores").fill("50")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errorlist")).to_be_visible()
    screenshot(page, "sizes")
    page.get_by_role("link", name="Teams").click()
    page.get_by_role("link", name="acme").click()
    page.get_by_label("Username or email").fill("charlie@example.org")
    page.get_by_role("button", name="Add or change role").click()
    expect(page.locator("table.members")).to_contain_text("charlie")
    assert Membership.objects.get(team__name="acme", user=charlie).role == "member"
    screenshot(page, "team")
    page.goto(f"{live_server.url}/apps/billing/access")
    page.get_by_label("Username or email").fill("charlie")
    page.get_by_label("deploy").check()
    page.get_by_role("button", name="Save access").click()
    expect(page.locator("tr[data-user=charlie]")).to_contain_text("view, deploy")
    screenshot(page, "access")
