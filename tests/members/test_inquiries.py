"""Inquiries: the services (send, staff answer, member answer, close, reopen, assign)
and who hears of what; the staff screens under Register → Inquiries, their rights
and a chapter admin's scope; the member's data download."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members import inquiries as services
from members.models import Inquiry, InquiryMessage
from members.privacy import person_data_export
from tests.factories import StaffUserFactory, SuperUserFactory, UserFactory
from tests.members.admin_helpers import chapter_admin_of, staff_in
from tests.members.factories import PersonFactory, make_chapter_tree

pytestmark = pytest.mark.django_db

Status = Inquiry.Status
INDEX = "register_inquiries:index"
ANSWERS = [
    {"question": "What is it about?", "answer": "My magazine"},
    {"question": "Tell us more", "answer": "It has not arrived since March."},
]


@pytest.fixture(autouse=True)
def _commit(django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks


_capture = None


def committed(function, **kwargs):
    """Call ``function`` and run what it left for after the commit (e-mails)."""
    with _capture(execute=True):
        return function(**kwargs)


def member(**fields):
    fields.setdefault("first_name", "Kari")
    fields.setdefault("last_name", "Nordmann")
    fields.setdefault("email", "kari@example.org")
    fields.setdefault("preferred_language", "en")
    return PersonFactory(user=UserFactory(), **fields)


def send(person, **fields):
    fields.setdefault("kind", Inquiry.Kind.COMPLAINT)
    fields.setdefault("subject", "Complaint: My magazine")
    fields.setdefault("answers", ANSWERS)
    fields.setdefault("form_title", "Complaint")
    fields.setdefault("to", ["complaints@example.org"])
    return committed(services.inquiry_submit, person=person, by=person.user, **fields)


@pytest.fixture
def kari():
    return member()


@pytest.fixture
def officer():
    return staff_in("Membership officers", email="officer@example.org")


# Sending ------------------------------------------------------------------------------


def test_sending_keeps_the_answers_starts_the_thread_and_mails_staff(kari):
    inquiry = send(kari)
    assert inquiry.status == Status.OPEN
    assert inquiry.kind == Inquiry.Kind.COMPLAINT
    assert inquiry.answers == ANSWERS
    assert inquiry.form_title == "Complaint"
    (first,) = inquiry.messages.all()
    assert not first.from_staff
    assert first.author == kari.user
    assert "It has not arrived since March." in first.body
    (email,) = mail.outbox
    assert email.to == ["complaints@example.org"]
    assert email.reply_to == ["kari@example.org"]
    assert "Kari Nordmann" in email.subject
    assert "It has not arrived since March." in email.body
    assert reverse("register_inquiries:inspect", args=[inquiry.pk]) in email.body


def test_without_addresses_staff_hear_through_the_configured_fallback(kari, settings):
    settings.GUILDHALL_INQUIRY_EMAIL = "help@example.org, boss@example.org"
    send(kari, to=[])
    assert mail.outbox[0].to == ["help@example.org", "boss@example.org"]


def test_only_the_member_sends_and_an_empty_form_is_refused(kari):
    with pytest.raises(PermissionDenied):
        services.inquiry_submit(
            person=kari,
            kind="question",
            subject="x",
            answers=ANSWERS,
            form_title="x",
            by=UserFactory(),
        )
    with pytest.raises(ValidationError, match="Fill in the form"):
        send(kari, answers=[{"question": "Tell us more", "answer": "  "}])
    assert not Inquiry.objects.exists()
    assert mail.outbox == []


# Answering ----------------------------------------------------------------------------


def test_staff_answer_tells_the_member_without_the_answer_itself(kari, officer):
    inquiry = send(kari)
    mail.outbox.clear()
    committed(
        services.inquiry_reply_staff,
        inquiry=inquiry,
        body="We have sent a new copy of the secret report.",
        by=officer,
    )
    inquiry.refresh_from_db()
    assert inquiry.status == Status.ANSWERED
    assert inquiry.assigned_to == officer  # whoever answers takes it on
    (email,) = mail.outbox
    assert email.to == ["kari@example.org"]
    assert "secret report" not in email.body
    assert reverse("extranet:inquiry", args=[inquiry.pk]) in email.body
    assert "Hello Kari" in email.body


def test_member_answer_reopens_and_reaches_whoever_handles_it(kari, officer):
    inquiry = send(kari)
    services.inquiry_reply_staff(inquiry=inquiry, body="Sent again.", by=officer)
    mail.outbox.clear()
    committed(
        services.inquiry_reply_member,
        inquiry=inquiry,
        body="Still nothing here.",
        by=kari.user,
    )
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN
    (email,) = mail.outbox
    assert email.to == ["officer@example.org"]
    assert "Still nothing here." in email.body
    assert [m.from_staff for m in inquiry.messages.all()] == [False, True, False]


def test_a_reply_nobody_handles_yet_goes_to_those_the_form_told(kari, settings):
    settings.GUILDHALL_INQUIRY_EMAIL = "fallback@example.org"
    inquiry = send(kari, to=["complaints@example.org", "chair@example.org"])
    mail.outbox.clear()
    committed(
        services.inquiry_reply_member,
        inquiry=inquiry,
        body="I forgot: it is the March issue.",
        by=kari.user,
    )
    (email,) = mail.outbox
    assert email.to == ["complaints@example.org", "chair@example.org"]


def test_empty_answers_are_refused_with_a_message(kari, officer):
    inquiry = send(kari)
    with pytest.raises(ValidationError, match="Write a message"):
        services.inquiry_reply_staff(inquiry=inquiry, body="  ", by=officer)
    with pytest.raises(ValidationError, match="Write a message"):
        services.inquiry_reply_member(inquiry=inquiry, body="", by=kari.user)
    assert inquiry.messages.count() == 1


def test_only_the_sender_answers_as_member_and_only_handlers_as_staff(kari):
    inquiry = send(kari)
    other = member(first_name="Ola", email="ola@example.org")
    with pytest.raises(PermissionDenied):
        services.inquiry_reply_member(inquiry=inquiry, body="Hi", by=other.user)
    with pytest.raises(PermissionDenied):
        services.inquiry_reply_staff(inquiry=inquiry, body="Hi", by=kari.user)
    with pytest.raises(PermissionDenied):
        services.inquiry_close(inquiry=inquiry, by=other.user)
    assert inquiry.messages.count() == 1


def test_close_and_reopen_follow_the_table(kari, officer):
    inquiry = send(kari)
    services.inquiry_close(inquiry=inquiry, by=officer)
    assert inquiry.status == Status.CLOSED
    assert inquiry.closed_at is not None
    with pytest.raises(ValidationError, match="already closed"):
        services.inquiry_close(inquiry=inquiry, by=officer)
    with pytest.raises(ValidationError, match="Reopen it"):
        services.inquiry_reply_staff(inquiry=inquiry, body="Hi", by=officer)
    services.inquiry_reopen(inquiry=inquiry, by=officer)
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN
    assert inquiry.closed_at is None
    with pytest.raises(ValidationError, match="not closed"):
        services.inquiry_reopen(inquiry=inquiry, by=officer)
    services.inquiry_close(inquiry=inquiry, by=kari.user)  # the member may close
    assert inquiry.status == Status.CLOSED


def test_member_answer_reopens_a_recently_closed_inquiry_but_not_an_old_one(kari):
    inquiry = send(kari)
    services.inquiry_close(inquiry=inquiry, by=kari.user)
    services.inquiry_reply_member(inquiry=inquiry, body="One more thing", by=kari.user)
    assert inquiry.status == Status.OPEN

    services.inquiry_close(inquiry=inquiry, by=kari.user)
    Inquiry.objects.filter(pk=inquiry.pk).update(
        closed_at=timezone.now() - timedelta(days=services.REOPEN_DAYS + 1)
    )
    inquiry.refresh_from_db()
    with pytest.raises(ValidationError, match="send a new inquiry"):
        services.inquiry_reply_member(inquiry=inquiry, body="Again", by=kari.user)
    inquiry.refresh_from_db()
    assert inquiry.status == Status.CLOSED


def test_assign_needs_a_handler(kari, officer):
    inquiry = send(kari)
    services.inquiry_assign(inquiry=inquiry, to=officer, by=officer)
    assert Inquiry.objects.get().assigned_to == officer
    with pytest.raises(PermissionDenied):
        services.inquiry_assign(inquiry=inquiry, to=kari.user, by=officer)


def test_roles_who_answer_members_may_handle_inquiries():
    for name in ("Membership officers", "Chapter admins", "Administrators"):
        group = Group.objects.get(name=name)
        codenames = set(group.permissions.values_list("codename", flat=True))
        assert {"view_inquiry", "change_inquiry"} <= codenames, name


# The admin ----------------------------------------------------------------------------


def test_staff_find_answer_and_the_member_is_told(verified_client, kari, officer):
    inquiry = send(kari)
    other = send(member(first_name="Ola", email="ola@example.org"), subject="Other")
    services.inquiry_close(inquiry=other, by=officer)
    mail.outbox.clear()
    client = verified_client(officer)

    response = client.get(reverse(INDEX))
    assert response.status_code == 200
    listed = [row.pk for row in response.context["object_list"]]
    assert listed == [inquiry.pk, other.pk]  # waiting for us first
    page = client.get(reverse("register_inquiries:inspect", args=[inquiry.pk]))
    content = page.content.decode()
    assert "It has not arrived since March." in content
    assert "What is it about?" in content

    with _capture(execute=True):
        response = client.post(
            reverse("register_inquiries:reply", args=[inquiry.pk]),
            {"body": "A new copy is on its way."},
        )
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == Status.ANSWERED
    assert mail.outbox[0].to == ["kari@example.org"]
    content = client.get(
        reverse("register_inquiries:inspect", args=[inquiry.pk])
    ).content.decode()
    assert "A new copy is on its way." in content


def test_admin_refuses_an_empty_answer_and_keeps_the_page(
    verified_client, kari, officer
):
    inquiry = send(kari)
    client = verified_client(officer)
    response = client.post(
        reverse("register_inquiries:reply", args=[inquiry.pk]), {"body": " "}
    )
    assert response.status_code == 400
    assert inquiry.messages.count() == 1


def test_admin_assign_close_and_reopen(verified_client, kari, officer):
    inquiry = send(kari)
    client = verified_client(officer)
    client.post(reverse("register_inquiries:assign", args=[inquiry.pk]))
    inquiry.refresh_from_db()
    assert inquiry.assigned_to == officer
    client.post(reverse("register_inquiries:close", args=[inquiry.pk]))
    inquiry.refresh_from_db()
    assert inquiry.status == Status.CLOSED
    client.post(reverse("register_inquiries:reopen", args=[inquiry.pk]))
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN


def test_admin_filters_and_searches(verified_client, kari, officer):
    magazine = send(kari)
    dues = send(member(first_name="Ola", last_name="Hansen"), subject="Dues question")
    services.inquiry_reply_staff(inquiry=dues, body="Done", by=officer)
    client = verified_client(officer)
    response = client.get(reverse(INDEX), {"status": "answered"})
    assert [row.pk for row in response.context["object_list"]] == [dues.pk]
    response = client.get(reverse(INDEX), {"q": "Hansen"})
    assert [row.pk for row in response.context["object_list"]] == [dues.pk]
    response = client.get(reverse(INDEX), {"q": "magazine"})
    assert [row.pk for row in response.context["object_list"]] == [magazine.pk]


def test_staff_export_the_answers_safe_for_spreadsheets(verified_client, officer):
    send(
        member(),
        subject="=HYPERLINK(1)",
        answers=[{"question": "Tell us more", "answer": "Lost parcel"}],
    )
    client = verified_client(officer)
    response = client.get(reverse(INDEX), {"export": "csv"})
    assert response.status_code == 200
    content = b"".join(response.streaming_content).decode()
    assert "Lost parcel" in content
    assert "'=HYPERLINK(1)" in content
    assert "Complaint" in content  # the kind as staff read it


def test_viewers_without_the_right_cannot_answer(verified_client, kari):
    inquiry = send(kari)
    viewer = StaffUserFactory()
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_inquiry"))
    client = verified_client(viewer)
    assert (
        client.get(reverse("register_inquiries:inspect", args=[inquiry.pk])).status_code
        == 200
    )
    for name in ("reply", "assign", "close"):
        response = client.post(
            reverse(f"register_inquiries:{name}", args=[inquiry.pk]), {"body": "Hi"}
        )
        assert response.status_code == 403, name
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN
    assert inquiry.messages.count() == 1


def test_chapter_admin_sees_and_answers_only_their_chapters(verified_client):
    chapters = make_chapter_tree()
    east = send(member(first_name="East", chapter=chapters.oslo), subject="East one")
    west = send(member(first_name="West", chapter=chapters.bergen), subject="West one")
    client = verified_client(chapter_admin_of(chapters.east))
    response = client.get(reverse(INDEX))
    assert [row.pk for row in response.context["object_list"]] == [east.pk]
    assert (
        client.get(reverse("register_inquiries:inspect", args=[west.pk])).status_code
        == 404
    )
    response = client.post(
        reverse("register_inquiries:reply", args=[west.pk]), {"body": "Hi"}
    )
    assert response.status_code == 404
    assert west.messages.count() == 1


def test_admin_pages_read_in_a_fixed_number_of_queries(verified_client, officer):
    client = verified_client(SuperUserFactory())
    kari = member()

    def count(address):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(address).status_code == 200
        return len(queries)

    inquiry = send(kari)
    send(member(first_name="Ola", email="ola@example.org"))
    client.get(reverse(INDEX))  # warm-up
    few = count(reverse(INDEX))
    detail = reverse("register_inquiries:inspect", args=[inquiry.pk])
    few_messages = count(detail)
    for n in range(6):
        send(member(first_name=f"Many{n}", email=f"m{n}@example.org"))
        services.inquiry_reply_staff(inquiry=inquiry, body=f"Answer {n}", by=officer)
        services.inquiry_reply_member(inquiry=inquiry, body=f"Back {n}", by=kari.user)
    assert count(reverse(INDEX)) == few
    assert count(detail) == few_messages


# Privacy ------------------------------------------------------------------------------


def test_data_download_has_the_inquiries_with_their_thread(kari, officer):
    inquiry = send(kari)
    services.inquiry_reply_staff(inquiry=inquiry, body="Sent again.", by=officer)
    (exported,) = person_data_export(person=kari)["inquiries"]
    assert exported["subject"] == "Complaint: My magazine"
    assert exported["answers"] == ANSWERS
    assert [m["from"] for m in exported["messages"]] == ["member", "staff"]
    assert exported["messages"][1]["body"] == "Sent again."
    assert InquiryMessage.objects.count() == 2
