"""Inquiries from the member's side: the editor-built form page (signed-in members
only), the thank-you page, and My Account's list and thread — only the member's
own, read in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.contrib.forms.models import FormSubmission

from extranet.models import InquiryFormField, InquiryPage
from members import inquiries as services
from members.models import Inquiry
from tests.factories import StaffUserFactory, UserFactory
from tests.members.admin_helpers import staff_in
from tests.members.factories import (
    EmploymentFactory,
    OrganisationFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

SIGNIN = "/account/sign-in/"
Status = Inquiry.Status


@pytest.fixture(autouse=True)
def _commit(django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks


_capture = None


def url(name, **kwargs):
    return reverse(f"extranet:{name}", kwargs=kwargs)


def member_user(**fields):
    user = UserFactory()
    fields.setdefault("preferred_language", "en")
    person = PersonFactory(user=user, **fields)
    return user, person


def add_inquiry_page(parent, **fields) -> InquiryPage:
    fields.setdefault("title", "Complaint")
    fields.setdefault("slug", "complaint")
    page = InquiryPage(
        to_address="complaints@example.org",
        kind=Inquiry.Kind.COMPLAINT,
        **fields,
    )
    page.form_fields = [
        InquiryFormField(
            sort_order=0,
            label="What is it about",
            field_type="singleline",
            required=True,
        ),
        InquiryFormField(
            sort_order=1, label="Tell us more", field_type="multiline", required=True
        ),
        InquiryFormField(
            sort_order=2,
            label="May we call you",
            field_type="checkbox",
            required=False,
        ),
    ]
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


ANSWERS = {
    "what_is_it_about": "Late magazine",
    "tell_us_more": "It has not arrived since March.",
    "may_we_call_you": "on",
}


@pytest.fixture
def world(home_page):
    kari_user, kari = member_user(first_name="Kari", email="kari@example.org")
    ola_user, ola = member_user(first_name="Ola", email="ola@example.org")
    return {
        "page": add_inquiry_page(home_page),
        "kari_user": kari_user,
        "kari": kari,
        "ola_user": ola_user,
        "ola": ola,
        "officer": staff_in("Membership officers", email="officer@example.org"),
    }


def sent_by(person, subject="Late magazine", **fields):
    return services.inquiry_submit(
        person=person,
        kind=Inquiry.Kind.QUESTION,
        subject=subject,
        answers=[{"question": "Tell us more", "answer": f"About {subject}"}],
        form_title="Questions",
        by=person.user,
        to=["staff@example.org"],
        **fields,
    )


# The form page ------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in_and_back(client, world):
    page = world["page"]
    response = client.get(page.url)
    assert response.status_code == 302
    assert response["Location"].startswith(SIGNIN + "?next=")
    assert page.url in response["Location"]
    response = client.post(page.url, ANSWERS)
    assert response.status_code == 302
    assert not Inquiry.objects.exists()


def test_signed_in_user_outside_the_register_is_told_kindly(client, world):
    client.force_login(UserFactory())
    response = client.get(world["page"].url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "not linked to anyone in our member register" in content
    assert "<textarea" not in content
    client.post(world["page"].url, ANSWERS)
    assert not Inquiry.objects.exists()


def test_member_sends_the_form_and_follows_it_in_my_account(client, world):
    client.force_login(world["kari_user"])
    page = world["page"]
    response = client.get(page.url)
    assert response.status_code == 200
    assert "Tell us more" in response.content.decode()

    with _capture(execute=True):
        response = client.post(page.url, ANSWERS)
    inquiry = Inquiry.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{page.url}?sent={inquiry.pk}"
    assert inquiry.person == world["kari"]
    assert inquiry.kind == Inquiry.Kind.COMPLAINT
    assert inquiry.subject == "Complaint: Late magazine"
    assert inquiry.form_title == "Complaint"
    assert inquiry.answers == [
        {"question": "What is it about", "answer": "Late magazine"},
        {"question": "Tell us more", "answer": "It has not arrived since March."},
        {"question": "May we call you", "answer": "Yes"},
    ]
    assert not FormSubmission.objects.exists()  # kept once, as the inquiry
    (email,) = mail.outbox
    assert email.to == ["complaints@example.org"]
    assert "It has not arrived since March." in email.body

    landing = client.get(response["Location"])
    assert landing.status_code == 200
    assert url("inquiry", pk=inquiry.pk) in landing.content.decode()

    detail = client.get(url("inquiry", pk=inquiry.pk))
    assert "It has not arrived since March." in detail.content.decode()


def test_form_errors_keep_the_member_on_the_page(client, world):
    client.force_login(world["kari_user"])
    response = client.post(world["page"].url, {"what_is_it_about": "Late"})
    assert response.status_code == 400
    assert "Please correct the fields marked below." in response.content.decode()
    assert not Inquiry.objects.exists()


def test_thank_you_page_shows_only_the_members_own_inquiry(client, world):
    theirs = sent_by(world["ola"])
    client.force_login(world["kari_user"])
    response = client.get(f"{world['page'].url}?sent={theirs.pk}")
    assert response.status_code == 200
    assert url("inquiry", pk=theirs.pk) not in response.content.decode()
    assert "Tell us more" in response.content.decode()  # the form again


def test_an_organisations_contact_may_send_on_its_behalf(client, world):
    firma = OrganisationFactory(name="Firma AS")
    EmploymentFactory(person=world["kari"], organisation=firma, is_contact=True)
    client.force_login(world["kari_user"])
    assert "Firma AS" in client.get(world["page"].url).content.decode()
    client.post(world["page"].url, {**ANSWERS, "guildhall_on_behalf_of": str(firma.pk)})
    assert Inquiry.objects.get().organisation == firma


def test_editors_preview_the_form(client, world):
    editor = StaffUserFactory(is_superuser=True)
    client.force_login(editor)
    response = world["page"].make_preview_request(
        original_request=None, preview_mode="form"
    )
    assert response.status_code == 200
    assert "Tell us more" in response.rendered_content


def test_wagtails_forms_listing_leaves_inquiry_forms_out(verified_client, world):
    """Inquiry forms keep no form submissions: staff answer them as inquiries."""
    from home.models import FormPage

    contact = FormPage(title="Contact us", slug="contact", to_address="a@example.org")
    world["page"].get_parent().add_child(instance=contact)
    client = verified_client(StaffUserFactory(is_superuser=True))

    response = client.get(reverse("wagtailforms:index"))

    assert response.status_code == 200
    text = response.content.decode()
    assert "Contact us" in text
    assert world["page"].title not in text


# My Account ---------------------------------------------------------------------------


def test_list_shows_only_own_inquiries_newest_first(client, world):
    first = sent_by(world["kari"], subject="First question")
    second = sent_by(world["kari"], subject="Second question")
    sent_by(world["ola"], subject="Ola's question")
    client.force_login(world["kari_user"])
    response = client.get(url("inquiries"))
    assert response.status_code == 200
    assert list(response.context["inquiries"]) == [second, first]
    content = response.content.decode()
    assert "Ola&#x27;s question" not in content and "Ola's question" not in content
    assert url("inquiries") in client.get(url("account")).content.decode()


def test_staff_answer_is_shown_and_the_member_answers_back(client, world):
    inquiry = sent_by(world["kari"])
    services.inquiry_reply_staff(
        inquiry=inquiry, body="A new copy is on its way.", by=world["officer"]
    )
    client.force_login(world["kari_user"])
    response = client.get(url("inquiry", pk=inquiry.pk))
    content = response.content.decode()
    assert "A new copy is on its way." in content
    assert "Answered" in content

    mail.outbox.clear()
    with _capture(execute=True):
        response = client.post(
            url("inquiry_reply", pk=inquiry.pk), {"body": "Thanks, still nothing."}
        )
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN
    assert mail.outbox[0].to == ["officer@example.org"]
    assert (
        "Thanks, still nothing."
        in client.get(url("inquiry", pk=inquiry.pk)).content.decode()
    )


def test_empty_reply_is_refused_with_a_message(client, world):
    inquiry = sent_by(world["kari"])
    client.force_login(world["kari_user"])
    response = client.post(url("inquiry_reply", pk=inquiry.pk), {"body": "  "})
    assert response.status_code == 400
    assert "Write a message before sending it." in response.content.decode()
    assert inquiry.messages.count() == 1


def test_member_closes_and_a_reply_reopens(client, world):
    inquiry = sent_by(world["kari"])
    client.force_login(world["kari_user"])
    client.post(url("inquiry_close", pk=inquiry.pk))
    inquiry.refresh_from_db()
    assert inquiry.status == Status.CLOSED
    content = client.get(url("inquiry", pk=inquiry.pk)).content.decode()
    assert "Writing here opens it again." in content
    client.post(url("inquiry_reply", pk=inquiry.pk), {"body": "One more thing"})
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN


def test_another_member_gets_404_and_cannot_write(client, world):
    inquiry = sent_by(world["kari"])
    client.force_login(world["ola_user"])
    assert client.get(url("inquiry", pk=inquiry.pk)).status_code == 404
    assert (
        client.post(url("inquiry_reply", pk=inquiry.pk), {"body": "Hi"}).status_code
        == 404
    )
    assert client.post(url("inquiry_close", pk=inquiry.pk)).status_code == 404
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN
    assert inquiry.messages.count() == 1
    client.force_login(UserFactory())  # no person at all
    assert client.get(url("inquiry", pk=inquiry.pk)).status_code == 404


def test_anonymous_is_sent_to_sign_in_from_my_account(client, world):
    inquiry = sent_by(world["kari"])
    for address in (url("inquiries"), url("inquiry", pk=inquiry.pk)):
        response = client.get(address)
        assert response.status_code == 302
        assert response["Location"].startswith(SIGNIN + "?next=")
    response = client.post(url("inquiry_reply", pk=inquiry.pk), {"body": "Hi"})
    assert response.status_code == 302
    assert inquiry.messages.count() == 1


def _queries(client, user, address) -> int:
    client.force_login(user)
    client.get(address)  # warm-up: the first request stores SiteSettings
    with CaptureQueriesContext(connection) as queries:
        assert client.get(address).status_code == 200
    return len(queries)


def test_pages_read_in_a_fixed_number_of_queries(client, world):
    kari, officer = world["kari"], world["officer"]
    inquiry = sent_by(kari)
    few_list = _queries(client, world["kari_user"], url("inquiries"))
    few_thread = _queries(client, world["kari_user"], url("inquiry", pk=inquiry.pk))
    for n in range(6):
        sent_by(kari, subject=f"Question {n}")
        services.inquiry_reply_staff(inquiry=inquiry, body=f"Answer {n}", by=officer)
        services.inquiry_reply_member(inquiry=inquiry, body=f"Back {n}", by=kari.user)
    assert _queries(client, world["kari_user"], url("inquiries")) == few_list
    assert (
        _queries(client, world["kari_user"], url("inquiry", pk=inquiry.pk))
        == few_thread
    )
