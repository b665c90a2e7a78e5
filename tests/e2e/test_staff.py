"""A staff member's journeys: first sign-in with a second factor, publishing a page."""

import base64
import re
from urllib.parse import urlsplit

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect
from wagtail.models import Page

from tests.factories import TEST_PASSWORD, SuperUserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OPEN_BEFORE_SECOND_FACTOR = re.compile(r"^/admin/(login|2fa/setup|2fa/verify)/$")


def sign_in(page, user):
    page.goto("/admin/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def code_from_secret(secret: str) -> str:
    """What the authenticator app shows after scanning the key."""
    key = base64.b32decode("".join(secret.split()))
    return f"{totp(key):06d}"


def enrol_authenticator(page, user) -> list[str]:
    """Sign in for the first time, set up the authenticator; return the recovery codes."""
    visited = []

    def record(frame):
        if frame == page.main_frame:
            visited.append(urlsplit(frame.url).path)

    page.on("framenavigated", record)
    sign_in(page, user)

    expect(page).to_have_url(re.compile(r"/admin/2fa/setup/\?next=%2Fadmin%2F$"))
    expect(
        page.get_by_role("heading", level=1, name="Set up two-factor authentication")
    ).to_be_visible()
    expect(page.locator(".otp-qr svg")).to_be_visible()
    # The admin's icons load on this page too, and nothing else in their place.
    expect(page.locator("[data-sprite] symbol").first).to_be_attached()
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    # Even typing an admin address leads back here until the second factor is on.
    page.goto("/admin/pages/")
    expect(page).to_have_url(
        re.compile(r"/admin/2fa/setup/\?next=%2Fadmin%2Fpages%2F$")
    )
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/2fa/setup/\?next=%2Fadmin%2F$"))

    secret = page.get_by_test_id("otp-secret")
    expect(secret).to_be_visible()
    page.get_by_label("Code").fill(code_from_secret(secret.inner_text()))
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    expect(page.get_by_role("heading", level=1, name="Recovery codes")).to_be_visible()
    expect(
        page.get_by_text("Two-factor authentication is now on for your account.")
    ).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    recovery_codes = [code.strip() for code in codes.all_inner_texts()]
    assert all(recovery_codes) and len(set(recovery_codes)) == 10

    # No admin page opened on the way: only sign-in and second-factor pages.
    page.remove_listener("framenavigated", record)
    assert visited[-1] == "/admin/2fa/recovery-codes/"
    assert all(OPEN_BEFORE_SECOND_FACTOR.match(path) for path in visited[:-1]), visited
    page.get_by_role("link", name="Continue").click()
    return recovery_codes


def expect_dashboard(page, user):
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("navigation", name="Main menu").first).to_be_visible()
    expect(page.get_by_role("main").get_by_text(user.get_full_name())).to_be_visible()


def test_staff_enrols_second_factor_and_publishes_a_page(page, site_content):
    user = SuperUserFactory()

    enrol_authenticator(page, user)
    expect_dashboard(page, user)

    # Pages explorer → the home page → add child page → Standard page.
    sidebar = page.get_by_role("complementary", name="Sidebar")
    sidebar.get_by_role("button", name="Pages").click()
    page.get_by_role("link", name="Test Association").first.click()
    expect(
        page.get_by_role("heading", level=1, name="Test Association")
    ).to_be_visible()
    page.get_by_role("link", name="Add child page").click()
    expect(
        page.get_by_role("heading", name=re.compile("Create a page in"))
    ).to_be_visible()
    page.get_by_role("link", name="Standard page", exact=True).click()

    title = page.get_by_placeholder("Page title*")
    title.fill("Our history")
    title.press("Tab")
    page.get_by_role("textbox", name="Introduction").fill("Founded by weavers in 1907.")

    # Wagtail's footer offers "Save draft"; Publish sits in the menu beside it.
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish", exact=True).click()

    expect(
        page.get_by_text(re.compile(r"Page 'Our history' created and published"))
    ).to_be_visible()
    created = Page.objects.get(title="Our history").specific
    assert created.live
    assert created.get_parent().pk == site_content.home.pk
    url = created.url
    assert url == "/our-history/"

    page.goto(url)
    expect(page.get_by_role("heading", level=1, name="Our history")).to_be_visible()
    expect(page.get_by_text("Founded by weavers in 1907.")).to_be_visible()


def test_second_sign_in_asks_for_a_code_and_accepts_a_recovery_code(
    page, new_page, site_content
):
    user = SuperUserFactory()
    recovery_codes = enrol_authenticator(page, user)
    expect_dashboard(page, user)

    # Another day, another browser: the password alone does not open the admin.
    other = new_page()
    sign_in(other, user)
    expect(other).to_have_url(re.compile(r"/admin/2fa/verify/\?next=%2Fadmin%2F$"))
    expect(
        other.get_by_role("heading", level=1, name="Enter your code")
    ).to_be_visible()
    other.goto("/admin/pages/")
    expect(other).to_have_url(re.compile(r"/admin/2fa/verify/"))

    other.get_by_label("Code").fill(recovery_codes[0])
    other.get_by_role("button", name="Verify").click()
    expect(other).to_have_url(re.compile(r"/admin/pages/$"))
    expect(
        other.get_by_text(re.compile(r"You signed in with a recovery code\. 9 codes"))
    ).to_be_visible()

    # A recovery code works once only.
    third = new_page()
    sign_in(third, user)
    third.get_by_label("Code").fill(recovery_codes[0])
    third.get_by_role("button", name="Verify").click()
    expect(
        third.get_by_text(re.compile("That code is not right, or was used already"))
    ).to_be_visible()
    expect(third).to_have_url(re.compile(r"/admin/2fa/verify/"))
