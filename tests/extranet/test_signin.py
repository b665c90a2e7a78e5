"""Members sign in on the public site: with a password, or with a link by e-mail."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from wagtail.models import PageViewRestriction

from extranet.access import lapsed_notice
from members.models import JoinPage, Membership, Renewal
from shop.paylinks import pay_path
from tests.factories import (
    TEST_PASSWORD,
    StaffUserFactory,
    StandardPage,
    UserFactory,
    add_page,
    soup,
    visible_text,
)
from tests.members.factories import MembershipFactory, PersonFactory
from tests.shop.factories import configure_seller, make_order

pytestmark = pytest.mark.django_db

SIGN_IN = "/account/sign-in/"
LINK = "/account/sign-in/link/"
NEW_PASSWORD = "a-brand-new-secret-42"  # noqa: S105
NEUTRAL = "If the address is in our register, we have sent you a link"


@pytest.fixture
def member(db):
    user = UserFactory(email="kari@example.org")
    PersonFactory(first_name="Kari", email="kari@example.org", user=user)
    return user


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run ``function`` and what it left for after the commit (the e-mails)."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


def sign_in(client, email, password=TEST_PASSWORD, **extra):
    return client.post(SIGN_IN, {"username": email, "password": password, **extra})


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# Password ------------------------------------------------------------------------------


def test_the_page_offers_both_ways_to_sign_in(client):
    response = client.get(SIGN_IN)
    assert response.status_code == 200
    text = visible_text(response)
    assert "E-mail me a sign-in link" in text
    assert "Sign in with your password" in text
    assert "Stay signed in" in text


def test_a_password_signs_in_for_this_browser_session_only(client, member):
    response = sign_in(client, "KARI@example.org")
    assert response.status_code == 302
    assert response["Location"] == "/account/my-account/"
    assert client.session[SESSION_KEY] == str(member.pk)
    assert client.session.get_expire_at_browser_close()
    assert response.cookies["sessionid"]["expires"] == ""


def test_stay_signed_in_keeps_the_long_session(client, member):
    sign_in(client, member.email, remember="on")
    assert client.session[SESSION_KEY] == str(member.pk)
    assert not client.session.get_expire_at_browser_close()


def test_a_wrong_password_says_so_and_signs_nobody_in(client, member):
    response = sign_in(client, member.email, "not-the-password")
    assert response.status_code == 200
    assert "do not match an account" in visible_text(response)
    assert SESSION_KEY not in client.session


def test_too_many_wrong_passwords_pause_signing_in_with_a_clear_page(client, member):
    for _ in range(5):
        sign_in(client, member.email, "not-the-password")
    response = sign_in(client, member.email)
    assert response.status_code == 429
    text = visible_text(response)
    assert "Too many failed sign-in attempts" in text
    assert "E-mail me a sign-in link" in text  # the site's own page, not the admin's
    assert SESSION_KEY not in client.session


def test_staff_are_sent_to_the_admin_sign_in_and_not_signed_in(client):
    staff = StaffUserFactory(email="clerk@example.org")
    response = sign_in(client, staff.email, next="/admin/pages/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")
    assert SESSION_KEY not in client.session
    assert any("Staff accounts sign in here" in m for m in messages_of(response))


def test_a_safe_next_is_followed_and_an_unsafe_one_ignored(client, member):
    response = sign_in(client, member.email, next="/news/")
    assert response["Location"] == "/news/"
    client.logout()
    response = sign_in(client, member.email, next="https://evil.example/")
    assert response["Location"] == "/account/my-account/"
    page = client.get(f"{SIGN_IN}?next=https://evil.example/")
    assert not soup(page).select("form.signin__form input[name=next]")
    page = client.get(f"{SIGN_IN}?next=/news/")
    nexts = soup(page).select("form.signin__form input[name=next]")
    assert [field["value"] for field in nexts] == ["/news/", "/news/"]


# Sign-in link --------------------------------------------------------------------------


def test_a_known_address_gets_a_link_to_the_page_asked_for(client, committed, member):
    response = committed(client.post, LINK, {"email": member.email, "next": "/news/"})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert NEUTRAL in visible_text(page)
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/account/link/" in line)
    assert "next=%2Fnews%2F" in link
    signed_in = client.get(link.replace("http://testserver", ""))
    assert signed_in["Location"] == "/news/"
    assert client.session[SESSION_KEY] == str(member.pk)


def test_an_unknown_address_gets_the_same_page_and_no_email(client, committed):
    response = committed(
        client.post, LINK, {"email": "nobody@example.org"}, follow=True
    )
    assert NEUTRAL in visible_text(response)
    assert mail.outbox == []


def test_a_link_without_next_lands_on_my_account(client, committed, member):
    committed(client.post, LINK, {"email": member.email, "next": "//evil.example/"})
    assert "next=%2Faccount%2Fmy-account%2F" in mail.outbox[0].body


def test_an_inbox_cannot_be_flooded_with_links(client, committed, member):
    for _ in range(5):
        response = committed(client.post, LINK, {"email": member.email}, follow=True)
        assert NEUTRAL in visible_text(response)
    assert len(mail.outbox) == 3


def test_a_bad_address_is_shown_on_the_sign_in_page(client):
    response = client.post(LINK, {"email": "not an address"})
    assert response.status_code == 200
    assert "Enter a valid email address" in visible_text(response)


# Signing out ---------------------------------------------------------------------------


def test_sign_out_takes_a_post(client, member):
    client.force_login(member)
    assert client.get("/account/sign-out/").status_code == 405
    response = client.post("/account/sign-out/")
    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_signing_out_everywhere_ends_the_other_browsers_session(client, member):
    other = Client()
    sign_in(other, member.email, remember="on")
    other_key = other.session.session_key
    sign_in(client, member.email)
    someone_else = UserFactory()
    bystander = Client()
    bystander.force_login(someone_else)

    response = client.post("/account/sign-out/everywhere/")

    assert response.status_code == 302
    assert SESSION_KEY not in client.session
    assert not Session.objects.filter(session_key=other_key).exists()
    assert not other.get(SIGN_IN).wsgi_request.user.is_authenticated
    assert bystander.get(SIGN_IN).wsgi_request.user.is_authenticated


def test_signing_out_everywhere_also_voids_old_sign_in_links(client, committed):
    person = PersonFactory(email="ola@example.org")
    committed(client.post, LINK, {"email": person.email})
    link = next(
        line for line in mail.outbox[0].body.splitlines() if "/account/link/" in line
    ).replace("http://testserver", "")
    assert client.get(link).status_code == 302
    client.post("/account/sign-out/everywhere/")
    assert client.get(link).status_code == 403


def test_signing_out_everywhere_needs_a_signed_in_post(client):
    response = client.post("/account/sign-out/everywhere/")
    assert response["Location"].startswith(SIGN_IN)


# Password reset ------------------------------------------------------------------------


def reset_password(client, committed, email, new_password=NEW_PASSWORD):
    response = committed(client.post, "/account/password/reset/", {"email": email})
    assert response["Location"] == "/account/password/reset/sent/"
    body = mail.outbox[-1].body
    link = next(line for line in body.splitlines() if "/password/reset/" in line)
    form = client.get(link.replace("http://testserver", ""), follow=True)
    assert "Choose a new password" in visible_text(form)
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert response["Location"] == "/account/password/reset/done/"
    return body


def test_a_password_reset_email_arrives_and_the_new_password_works(
    client, committed, member
):
    body = reset_password(client, committed, "kari@EXAMPLE.org")
    assert mail.outbox[-1].to == ["kari@example.org"]
    assert "Set a new password" in mail.outbox[-1].subject
    assert "kari@example.org" in body
    assert sign_in(client, member.email).status_code == 200  # the old one is gone
    assert sign_in(client, member.email, NEW_PASSWORD).status_code == 302
    assert client.session[SESSION_KEY] == str(member.pk)


def test_a_member_without_a_password_sets_a_first_one_the_same_way(client, committed):
    user = UserFactory(email="ola@example.org")
    user.set_unusable_password()
    user.save()
    reset_password(client, committed, "ola@example.org")
    assert "Choose a password" in mail.outbox[-1].subject
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302


def test_an_inbox_cannot_be_flooded_with_reset_emails(client, committed, member):
    for _ in range(5):
        response = committed(
            client.post, "/account/password/reset/", {"email": member.email}
        )
        assert response["Location"] == "/account/password/reset/sent/"
    assert len(mail.outbox) == 3


def test_an_unknown_address_asking_for_a_reset_gets_no_email(client, committed):
    response = committed(
        client.post, "/account/password/reset/", {"email": "nobody@example.org"}
    )
    assert response["Location"] == "/account/password/reset/sent/"
    assert mail.outbox == []


# A lapsed member -----------------------------------------------------------------------


def lapse(person) -> Membership:
    return MembershipFactory(
        person=person,
        start=date(2020, 1, 1),
        end=date(2020, 12, 31),
        status=Membership.Status.ENDED,
        end_reason=Membership.EndReason.LAPSED,
    )


def test_a_lapsed_member_is_told_when_it_ended_and_gets_the_pay_link(
    client, home_page, member
):
    configure_seller()
    membership = lapse(member.person)
    order = make_order(customer_email=member.email)
    Renewal.objects.create(
        membership=membership,
        period_start=date(2021, 1, 1),
        period_end=date(2021, 12, 31),
        amount=Decimal("450.00"),
        order=order,
    )

    response = sign_in(client, member.email, next="/")
    page = client.get(response["Location"])

    text = visible_text(page)
    assert "Your membership ended on Dec. 31, 2020 because it was not renewed." in text
    assert f'href="{pay_path(order)}"' in page.content.decode()


def test_a_lapsed_member_without_an_open_renewal_is_sent_to_the_join_page(
    home_page, member
):
    lapse(member.person)
    join = add_page(home_page, JoinPage, title="Join us", slug="join")
    notice = lapsed_notice(user=member)
    assert "not renewed" in notice
    assert f'href="{join.url}"' in notice


def test_a_sign_in_link_also_tells_a_lapsed_member(client, committed, member):
    lapse(member.person)
    committed(client.post, LINK, {"email": member.email})
    link = next(
        line for line in mail.outbox[0].body.splitlines() if "/account/link/" in line
    )
    response = client.get(link.replace("http://testserver", ""))
    assert any("not renewed" in m for m in messages_of(response))


def test_no_notice_for_an_active_member_or_one_who_resigned(member):
    lapse(member.person)
    MembershipFactory(person=member.person, status=Membership.Status.ACTIVE)
    assert lapsed_notice(user=member) is None
    other = UserFactory()
    MembershipFactory(
        person=PersonFactory(user=other),
        start=date(2020, 1, 1),
        end=date(2020, 12, 31),
        status=Membership.Status.ENDED,
        end_reason=Membership.EndReason.RESIGNED,
    )
    assert lapsed_notice(user=other) is None
    assert lapsed_notice(user=UserFactory()) is None


# Restricted pages ----------------------------------------------------------------------


def test_a_members_only_page_sends_a_visitor_to_the_members_sign_in(client, home_page):
    page = add_page(home_page, StandardPage, title="Members area", slug="members-area")
    restriction = PageViewRestriction.objects.create(
        page=page, restriction_type=PageViewRestriction.GROUPS
    )
    restriction.groups.add(Group.objects.create(name="Members"))

    response = client.get("/members-area/")

    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?next=/members-area/"
