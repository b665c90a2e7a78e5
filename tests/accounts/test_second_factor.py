"""Staff open no admin page until they have given a second factor this session."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from guildhall.accounts import otp
from tests.factories import StaffUserFactory, UserFactory, totp_token, visible_text

pytestmark = pytest.mark.django_db

SETUP = reverse("accounts:otp_setup")
VERIFY = reverse("accounts:otp_verify")
RECOVERY = reverse("accounts:recovery_codes")
ADMIN = reverse("wagtailadmin_home")


@pytest.fixture
def staff(db):
    return StaffUserFactory(email="clerk@example.org")


@pytest.fixture
def enrolled_staff(staff):
    """A staff user with a confirmed authenticator and a set of recovery codes."""
    TOTPDevice.objects.create(user=staff, name="Phone", confirmed=True)
    otp.recovery_codes_issue(user=staff)
    return staff


def path_of(url):
    return urlsplit(url).path


def next_of(url):
    return parse_qs(urlsplit(url).query).get("next", [None])[0]


def wrong_code(device):
    return f"{(int(totp_token(device)) + 1) % 1_000_000:06d}"


@pytest.fixture
def no_throttle(settings):
    """Wrong codes slow the next try down by a second; a person waits, a test need not."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


# --- A staff user without a second factor --------------------------------------------


def test_password_alone_leads_to_enrolment_not_the_admin(client, sign_in, staff):
    response = sign_in(staff.email)
    assert response.status_code == 302

    response = client.get(ADMIN)

    assert response.status_code == 302
    assert path_of(response.url) == SETUP
    assert next_of(response.url) == ADMIN


@pytest.mark.parametrize(
    "admin_url",
    [
        "/admin/pages/",
        "/admin/users/",
        "/admin/settings/home/sitesettings/",
        "/admin/documents/",
    ],
)
def test_no_admin_page_opens_before_the_second_factor(client, staff, admin_url):
    client.force_login(staff)

    response = client.get(admin_url)

    assert response.status_code == 302
    assert path_of(response.url) == SETUP


def test_posting_to_the_admin_is_refused_too(client, staff, home_page):
    client.force_login(staff)
    add_url = reverse(
        "wagtailadmin_pages:add", args=["home", "standardpage", home_page.pk]
    )

    response = client.post(add_url, {"title": "Sneaked in", "slug": "sneaked-in"})

    assert response.status_code == 302
    assert path_of(response.url) == SETUP
    assert not home_page.get_children().filter(slug="sneaked-in").exists()


def test_setup_page_shows_a_qr_code_and_the_key(client, staff):
    client.force_login(staff)

    response = client.get(SETUP)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html
    device = TOTPDevice.objects.get(user=staff)
    assert not device.confirmed
    key = otp.base32_secret(device)
    assert key in visible_text(response)


def test_setup_shows_the_same_key_until_it_is_confirmed(client, staff):
    client.force_login(staff)

    client.get(SETUP)
    client.get(SETUP)

    assert TOTPDevice.objects.filter(user=staff).count() == 1


def test_a_wrong_code_is_refused_and_leaves_the_device_unconfirmed(client, staff):
    client.force_login(staff)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=staff)
    response = client.post(SETUP, {"token": wrong_code(device)})

    assert response.status_code == 200
    assert "That code is not right" in visible_text(response)
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(ADMIN).status_code == 302


def test_the_right_code_turns_on_the_second_factor_and_shows_recovery_codes(
    client, staff, no_throttle
):
    client.force_login(staff)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=staff)
    client.post(SETUP, {"token": wrong_code(device)})  # a typo first

    response = client.post(SETUP, {"token": totp_token(device), "next": ADMIN})

    assert response.status_code == 302
    assert path_of(response.url) == RECOVERY
    device.refresh_from_db()
    assert device.confirmed

    response = client.get(response.url)
    assert response.status_code == 200
    codes = StaticToken.objects.filter(device__user=staff).values_list(
        "token", flat=True
    )
    assert len(codes) == otp.RECOVERY_CODE_COUNT == 10
    page_text = visible_text(response)
    assert all(code in page_text for code in codes)
    assert "Two-factor authentication is now on" in page_text

    assert client.get(ADMIN).status_code == 200


def test_recovery_codes_are_shown_only_once(client, staff):
    client.force_login(staff)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=staff)
    client.post(SETUP, {"token": totp_token(device)})
    first = client.get(RECOVERY)
    codes = list(
        StaticToken.objects.filter(device__user=staff).values_list("token", flat=True)
    )
    assert codes[0] in visible_text(first)

    again = client.get(RECOVERY)

    assert codes[0] not in visible_text(again)
    assert "You have 10 unused recovery codes." in visible_text(again)


def test_code_with_spaces_from_the_app_is_accepted(client, staff):
    client.force_login(staff)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=staff)
    code = totp_token(device)

    client.post(SETUP, {"token": f" {code[:3]} {code[3:]} "})

    device.refresh_from_db()
    assert device.confirmed


# --- A staff user with a second factor -----------------------------------------------


def test_staff_with_an_authenticator_are_asked_for_a_code(
    client, sign_in, enrolled_staff
):
    sign_in(enrolled_staff.email)

    response = client.get("/admin/pages/")

    assert response.status_code == 302
    assert path_of(response.url) == VERIFY
    assert next_of(response.url) == "/admin/pages/"
    assert "Enter your code" in visible_text(client.get(response.url))


def test_a_code_from_the_authenticator_opens_the_admin(client, enrolled_staff):
    client.force_login(enrolled_staff)
    device = TOTPDevice.objects.get(user=enrolled_staff)

    response = client.post(VERIFY, {"token": totp_token(device), "next": ADMIN})

    assert response.status_code == 302
    assert response.url == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_a_verified_superuser_reaches_the_page_tree(client, superuser):
    device = TOTPDevice.objects.create(user=superuser, name="Phone", confirmed=True)
    client.force_login(superuser)

    response = client.post(
        VERIFY, {"token": totp_token(device), "next": "/admin/pages/"}
    )

    assert response.url == "/admin/pages/"
    assert client.get("/admin/pages/").status_code == 200


def test_a_wrong_code_at_verify_keeps_the_admin_closed(client, enrolled_staff):
    client.force_login(enrolled_staff)

    response = client.post(VERIFY, {"token": "12345678"})

    assert response.status_code == 200
    assert "That code is not right, or was used already" in visible_text(response)
    assert client.get(ADMIN).status_code == 302


def test_a_recovery_code_works_once_and_not_twice(client, enrolled_staff):
    code = StaticToken.objects.filter(device__user=enrolled_staff).first().token
    client.force_login(enrolled_staff)

    response = client.post(VERIFY, {"token": code})

    assert response.status_code == 302
    dashboard = client.get(ADMIN)
    assert dashboard.status_code == 200
    assert "9 codes are left" in visible_text(dashboard)

    client.logout()
    client.force_login(enrolled_staff)
    response = client.post(VERIFY, {"token": code})

    assert response.status_code == 200
    assert "That code is not right, or was used already" in visible_text(response)
    assert client.get(ADMIN).status_code == 302


def test_knowing_the_password_is_not_enough_to_enrol_a_new_device(
    client, enrolled_staff
):
    client.force_login(enrolled_staff)

    response = client.get(SETUP)
    assert response.status_code == 302
    assert path_of(response.url) == VERIFY

    # Even a crafted post does not confirm a device of the attacker's choosing.
    response = client.post(SETUP, {"token": "123456"})
    assert response.status_code == 302
    assert path_of(response.url) == VERIFY
    assert TOTPDevice.objects.filter(user=enrolled_staff).count() == 1


def test_recovery_codes_page_asks_for_a_code_first(client, enrolled_staff):
    client.force_login(enrolled_staff)

    response = client.get(RECOVERY)

    assert response.status_code == 302
    assert path_of(response.url) == VERIFY


def test_making_new_recovery_codes_voids_the_old_ones(
    client, enrolled_staff, verified_client
):
    old = set(
        StaticToken.objects.filter(device__user=enrolled_staff).values_list(
            "token", flat=True
        )
    )
    verified = verified_client(enrolled_staff)

    response = verified.post(RECOVERY, {"next": ADMIN})
    assert response.status_code == 302

    new = set(
        StaticToken.objects.filter(device__user=enrolled_staff).values_list(
            "token", flat=True
        )
    )
    assert len(new) == 10
    assert not old & new
    assert any(code in visible_text(verified.get(response.url)) for code in new)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "http://testserver.evil.example/",
    ],
)
def test_next_pointing_to_another_site_is_ignored(client, enrolled_staff, target):
    client.force_login(enrolled_staff)
    device = TOTPDevice.objects.get(user=enrolled_staff)

    page = client.get(VERIFY, {"next": target})
    assert target not in page.content.decode()

    response = client.post(VERIFY, {"token": totp_token(device), "next": target})

    assert response.status_code == 302
    assert response.url == ADMIN


def test_sign_in_pages_stay_reachable_without_a_second_factor(client, staff):
    client.force_login(staff)

    assert client.get(reverse("wagtailadmin_password_reset")).status_code == 200
    response = client.post(reverse("wagtailadmin_logout"))
    assert response.status_code == 302
    assert path_of(response.url) != SETUP
    assert client.get(ADMIN).url.startswith(reverse("wagtailadmin_login"))


# --- People without admin access -----------------------------------------------------


def test_members_without_admin_access_are_not_sent_to_the_second_factor(
    client, sign_in
):
    member = UserFactory(email="member@example.org")
    sign_in(member.email)

    response = client.get(ADMIN)

    assert response.status_code == 302
    assert path_of(response.url) == reverse("wagtailadmin_login")
    assert client.get(SETUP).status_code == 403
    assert client.get(VERIFY).status_code == 403
    assert not TOTPDevice.objects.filter(user=member).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url in (SETUP, VERIFY, RECOVERY):
        response = client.get(url)
        assert response.status_code == 302
        assert path_of(response.url) == reverse("wagtailadmin_login")


def test_reset_second_factor_command_makes_the_user_enrol_again(client, enrolled_staff):
    call_command("reset_second_factor", "CLERK@example.org")

    assert not TOTPDevice.objects.filter(user=enrolled_staff).exists()
    assert not StaticDevice.objects.filter(user=enrolled_staff).exists()
    client.force_login(enrolled_staff)
    assert path_of(client.get(ADMIN).url) == SETUP
