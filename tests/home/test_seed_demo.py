"""The demo seed builds a site to explore and can be run again without harm."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice
from wagtail.models import Page, Site

from guildhall.accounts.otp import base32_secret
from home.management.commands.seed_demo import DEMO_PASSWORD, STAFF
from home.models import HomePage, NewsPage, SiteSettings
from tests.factories import totp_token, visible_text

User = get_user_model()
pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def recovery_codes(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*(\S+@\S+)\s+recovery code:\s*(\S+)\s*$", output, re.M))


def test_seeding_twice_changes_nothing():
    seed()
    counts = (Page.objects.count(), User.objects.count(), TOTPDevice.objects.count())
    home = HomePage.objects.get()

    seed()

    assert (
        Page.objects.count(),
        User.objects.count(),
        TOTPDevice.objects.count(),
    ) == counts
    assert HomePage.objects.get().pk == home.pk
    assert Site.objects.get(is_default_site=True).root_page_id == home.pk


def test_output_tells_how_to_sign_in():
    output = seed()

    assert "Staff admin:  http://127.0.0.1:8000/admin/" in output
    assert f"Password for every demo staff account: {DEMO_PASSWORD}" in output
    codes = recovery_codes(output)
    assert set(codes) == {email for email, *_ in STAFF}


def test_printed_recovery_code_verifies_for_its_user():
    codes = recovery_codes(seed())

    for email, code in codes.items():
        user = User.objects.get_by_natural_key(email)
        assert match_token(user, code) is not None, email
        # Each code works once.
        assert match_token(user, code) is None, email


def test_recovery_code_still_printed_and_valid_after_a_second_run():
    seed()
    codes = recovery_codes(seed())

    user = User.objects.get_by_natural_key("admin@guildhall.example")
    assert match_token(user, codes["admin@guildhall.example"]) is not None


def test_printed_authenticator_key_matches_the_demo_devices():
    output = seed()
    key = re.search(r"\(TOTP, 6 digits, 30 s\): ([A-Z2-7 ]+)", output).group(1)

    device = TOTPDevice.objects.get(user__email="editor@guildhall.example")
    assert key.strip() == base32_secret(device)
    assert match_token(device.user, totp_token(device)) is not None


def test_demo_staff_sign_in_with_password_and_recovery_code(client):
    codes = recovery_codes(seed())

    response = client.post(
        "/admin/login/",
        {"username": "editor@guildhall.example", "password": DEMO_PASSWORD},
    )
    assert response.status_code == 302
    response = client.post(
        "/admin/2fa/verify/",
        {"token": codes["editor@guildhall.example"], "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_demo_site_shows_its_content(client):
    seed()

    home = client.get("/")
    assert home.status_code == 200
    text = visible_text(home)
    assert "Nordic Guild of Makers" in text
    assert "Makers, together since 1921" in text
    assert NewsPage.objects.live().count() == 4
    for path in ("/about/", "/about/board/", "/membership/", "/news/", "/contact/"):
        assert client.get(path).status_code == 200, path
    settings = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    settings.full_clean()  # the demo's own colours pass the contrast rule
