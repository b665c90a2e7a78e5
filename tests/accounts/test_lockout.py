"""Guessing passwords is slowed down per account and per address (django-axes)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from guildhall.accounts.tasks import forget_old_access_attempts
from tests.factories import TEST_PASSWORD, StaffUserFactory, UserFactory, visible_text

pytestmark = pytest.mark.django_db

LOCKED_MESSAGE = "Too many failed sign-in attempts"
WRONG = "not-the-right-password"


@pytest.fixture
def ann(db):
    return StaffUserFactory(email="ann@example.org")


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    client, sign_in, ann
):
    for _ in range(4):
        response = sign_in(ann.email, WRONG)
        assert response.status_code == 200
        assert LOCKED_MESSAGE not in visible_text(response)
    sign_in(ann.email, WRONG)

    response = sign_in(ann.email)

    assert response.status_code == 429
    text = visible_text(response)
    assert LOCKED_MESSAGE in text
    assert "paused for 15 minutes" in text
    assert SESSION_KEY not in client.session


def test_four_wrong_passwords_do_not_lock_the_account(client, sign_in, ann):
    for _ in range(4):
        sign_in(ann.email, WRONG)

    response = sign_in(ann.email)

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(ann.pk)


def test_changing_the_case_of_the_address_does_not_reset_the_count(
    client, sign_in, ann
):
    spellings = [
        "ann@example.org",
        "ANN@example.org",
        "Ann@Example.org",
        "aNN@EXAMPLE.ORG",
    ]
    # A different address each time, so only the per-account count can lock.
    for number, spelling in enumerate(spellings + ["ann@EXAMPLE.org"], start=1):
        sign_in(spelling, WRONG, ip=f"198.51.100.{number}")

    response = sign_in("Ann@example.ORG", ip="198.51.100.99")

    assert response.status_code == 429
    assert LOCKED_MESSAGE in visible_text(response)
    assert SESSION_KEY not in client.session


def test_a_locked_account_does_not_lock_other_people_elsewhere(client, sign_in, ann):
    bob = UserFactory(email="bob@example.org")
    for number in range(1, 6):
        sign_in(ann.email, WRONG, ip=f"198.51.100.{number}")

    response = sign_in(bob.email, ip="198.51.100.200")

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(bob.pk)


def test_failures_across_accounts_from_one_address_lock_that_address(client, sign_in):
    users = [UserFactory(email=f"member{n}@example.org") for n in range(6)]
    for user in users[:5]:
        sign_in(user.email, WRONG, ip="192.0.2.7")

    response = sign_in(users[5].email, ip="192.0.2.7")

    assert response.status_code == 429
    assert LOCKED_MESSAGE in visible_text(response)
    assert SESSION_KEY not in client.session

    # The same person from another address is not affected.
    response = sign_in(users[5].email, ip="192.0.2.8")
    assert response.status_code == 302


def test_a_forged_forwarded_header_does_not_escape_the_address_lock(client, sign_in):
    users = [UserFactory(email=f"member{n}@example.org") for n in range(6)]
    for number, user in enumerate(users[:5]):
        client.post(
            "/admin/login/",
            {"username": user.email, "password": WRONG},
            REMOTE_ADDR="192.0.2.7",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{number}",
        )

    response = client.post(
        "/admin/login/",
        {"username": users[5].email, "password": TEST_PASSWORD},
        REMOTE_ADDR="192.0.2.7",
        HTTP_X_FORWARDED_FOR="10.9.9.99",
    )

    assert response.status_code == 429


#: The address of our one proxy: every request behind it comes from here.
PROXY = "10.0.0.1"


@pytest.fixture
def proxied_users(settings):
    """Six members, and the site behind one proxy (GUILDHALL_PROXY_COUNT = 1)."""
    settings.GUILDHALL_PROXY_COUNT = 1
    return [UserFactory(email=f"member{n}@example.org") for n in range(6)]


def sign_in_through_the_proxy(client, user, forwarded_for, password=WRONG):
    """A sign-in that reaches us through the proxy, with the X-Forwarded-For it
    passes on."""
    return client.post(
        "/admin/login/",
        {"username": user.email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_behind_a_proxy_each_visitor_is_counted_on_their_own(client, proxied_users):
    # Five different visitors each mistype once; all reach us through the proxy.
    for number, user in enumerate(proxied_users[:5]):
        sign_in_through_the_proxy(client, user, f"192.0.2.{number}")

    response = sign_in_through_the_proxy(
        client, proxied_users[5], "192.0.2.50", password=TEST_PASSWORD
    )

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(proxied_users[5].pk)


def test_behind_a_proxy_one_visitor_is_still_locked(client, proxied_users):
    for number, user in enumerate(proxied_users[:5]):
        # What the visitor sent (forged) on the left; what the proxy saw on the right.
        sign_in_through_the_proxy(client, user, f"10.9.9.{number}, 192.0.2.66")

    response = sign_in_through_the_proxy(
        client, proxied_users[5], "192.0.2.66", password=TEST_PASSWORD
    )

    assert response.status_code == 429


def test_a_successful_sign_in_resets_the_count(client, sign_in, ann):
    for _ in range(4):
        sign_in(ann.email, WRONG)
    assert sign_in(ann.email).status_code == 302
    client.logout()

    for _ in range(4):
        sign_in(ann.email, WRONG)
    response = sign_in(ann.email)

    assert response.status_code == 302


def test_old_sign_in_records_are_forgotten_and_recent_ones_kept():
    long_ago = timezone.now() - timedelta(days=120)
    recent = timezone.now() - timedelta(days=3)
    common = {
        "user_agent": "test",
        "ip_address": "192.0.2.1",
        "path_info": "/admin/login/",
    }
    for when, name in ((long_ago, "old@example.org"), (recent, "new@example.org")):
        attempt = AccessAttempt.objects.create(
            username=name, get_data="", post_data="", failures_since_start=1, **common
        )
        log = AccessLog.objects.create(username=name, **common)
        failure = AccessFailureLog.objects.create(
            username=name, locked_out=False, **common
        )
        for row in (attempt, log, failure):
            type(row).objects.filter(pk=row.pk).update(attempt_time=when)

    deleted = forget_old_access_attempts.delay().get()

    assert deleted == 3
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        assert list(model.objects.values_list("username", flat=True)) == [
            "new@example.org"
        ]
