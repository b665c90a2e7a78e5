"""A contact form built by an editor: visitors fill it in, staff get it by e-mail."""

import pytest
from bs4 import BeautifulSoup
from django.core import mail
from wagtail.contrib.forms.models import FormSubmission

from tests.factories import add_contact_form, visible_text

pytestmark = pytest.mark.django_db

ANSWERS = {
    "your_name": "Kari Nordmann",
    "e_mail": "kari@example.no",
    "message": "How much is the membership fee for students?",
}


@pytest.fixture
def contact(home_page):
    page = add_contact_form(
        home_page, thank_you_text="<p>Thanks, we will be in touch.</p>"
    )
    page.from_address = "web@guild.example"
    page.save_revision().publish()
    return page


def fields_by_label(response):
    html = BeautifulSoup(response.content, "html.parser")
    form = html.find("main").find("form")
    labelled = {}
    for label in form.find_all("label"):
        control = form.find(id=label.get("for"))
        if control is not None:
            labelled[label.get_text(" ", strip=True).rstrip(" *")] = control
    return labelled


def test_form_shows_each_field_with_its_label(client, contact):
    response = client.get(contact.url)

    assert response.status_code == 200
    fields = fields_by_label(response)
    assert set(fields) == {"Your name", "E-mail", "Message"}
    assert fields["E-mail"]["type"] == "email"
    assert fields["Message"].name == "textarea"
    assert {control["name"] for control in fields.values()} == set(ANSWERS)


def test_missing_answer_shows_an_error_and_stores_nothing(
    client, contact, django_capture_on_commit_callbacks
):
    answers = {**ANSWERS, "message": ""}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(contact.url, answers)

    assert response.status_code == 200
    text = visible_text(response)
    assert "This field is required." in text
    assert "Thanks, we will be in touch." not in text
    # What the visitor typed is kept, so they need not type it again.
    assert fields_by_label(response)["Your name"]["value"] == "Kari Nordmann"
    assert FormSubmission.objects.count() == 0
    assert mail.outbox == []


def test_an_invalid_email_address_is_refused(client, contact):
    response = client.post(contact.url, {**ANSWERS, "e_mail": "not-an-address"})

    assert response.status_code == 200
    assert "Enter a valid email address." in visible_text(response)
    assert FormSubmission.objects.count() == 0


def test_a_valid_submission_is_stored_thanked_and_mailed_to_staff(
    client, contact, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(contact.url, ANSWERS)

    assert response.status_code == 200
    assert "Thanks, we will be in touch." in visible_text(response)

    submission = FormSubmission.objects.get()
    assert submission.page_id == contact.pk
    assert submission.get_data()["message"] == ANSWERS["message"]

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["staff@example.org"]
    assert message.reply_to == ["kari@example.no"]
    assert message.from_email == "web@guild.example"
    assert message.subject == "New inquiry"
    for answer in ANSWERS.values():
        assert answer in message.body


def test_the_mail_waits_for_the_commit(
    client, contact, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(contact.url, ANSWERS)

    # The e-mail waits for the commit: nothing is sent before it.
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_several_staff_addresses_each_get_the_mail(
    client, home_page, django_capture_on_commit_callbacks
):
    page = add_contact_form(
        home_page,
        to_address="office@example.org, chair@example.org",
        slug="write-to-us",
    )

    with django_capture_on_commit_callbacks(execute=True):
        client.post(page.url, ANSWERS)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["office@example.org", "chair@example.org"]


def test_subject_falls_back_to_the_page_title(
    client, home_page, django_capture_on_commit_callbacks
):
    page = add_contact_form(home_page, title="Ask the board", slug="ask")
    page.subject = ""
    page.save_revision().publish()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(page.url, ANSWERS)

    assert mail.outbox[0].subject == "New submission: Ask the board"
