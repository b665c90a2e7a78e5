"""An invoice's thread: the member writes, staff hear of it; staff answer, the member
hears of it; a dispute pauses reminders until answered."""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import PermissionDenied

from shop import billing
from shop.disputes import invoice_comment_add, invoice_dispute_is_open
from shop.models import InvoiceComment
from tests.factories import StaffUserFactory, UserFactory

from .factories import configure_seller, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(db):
    configure_seller(email="accounts@guild.example")
    return billing.invoice_issue(order=make_order(amount="450.00"))


@pytest.fixture
def clerk(db):
    user = StaffUserFactory(first_name="Anne", last_name="Clerk")
    user.user_permissions.add(Permission.objects.get(codename="change_invoice"))
    return user


def test_member_dispute_reaches_staff_and_answer_reaches_member(
    invoice, clerk, django_capture_on_commit_callbacks
):
    member = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        comment = invoice_comment_add(
            invoice=invoice,
            author=member,
            body="  I paid this in cash at the annual meeting.  ",
            from_staff=False,
            disputes=True,
        )
    assert comment.body == "I paid this in cash at the annual meeting."
    assert invoice_dispute_is_open(invoice) is True
    [to_staff] = mail.outbox
    assert to_staff.to == ["accounts@guild.example"]
    assert to_staff.subject == (
        f"Invoice {invoice.display_number} disputed by Kari Nordmann"
    )
    assert "I paid this in cash at the annual meeting." in to_staff.body
    assert f"/admin/billing/invoices/{invoice.pk}/thread/" in to_staff.body

    with django_capture_on_commit_callbacks(execute=True):
        invoice_comment_add(
            invoice=invoice,
            author=clerk,
            body="Thank you, we found the payment and have booked it.",
            from_staff=True,
        )
    assert invoice_dispute_is_open(invoice) is False
    to_member = mail.outbox[1]
    assert to_member.to == ["kari@example.org"]
    assert to_member.subject == f"About your invoice {invoice.display_number}"
    assert "we found the payment and have booked it" in to_member.body
    assert "http://testserver/shop/pay/" in to_member.body


def test_a_question_is_not_a_dispute(invoice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invoice_comment_add(
            invoice=invoice,
            author=None,
            body="Can I pay in two parts?",
            from_staff=False,
        )
    assert invoice_dispute_is_open(invoice) is False
    assert mail.outbox[0].subject == (
        f"Message about invoice {invoice.display_number} from Kari Nordmann"
    )


def test_a_new_dispute_after_an_answer_opens_the_thread_again(invoice, clerk):
    invoice_comment_add(
        invoice=invoice, author=None, body="Wrong.", from_staff=False, disputes=True
    )
    invoice_comment_add(invoice=invoice, author=clerk, body="Right.", from_staff=True)
    invoice_comment_add(
        invoice=invoice,
        author=None,
        body="Still wrong.",
        from_staff=False,
        disputes=True,
    )
    assert invoice_dispute_is_open(invoice) is True


def test_nothing_is_sent_until_the_comment_is_committed(
    invoice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice_comment_add(
            invoice=invoice, author=None, body="Hello", from_staff=False
        )
    assert mail.outbox == []
    assert len(callbacks) == 1


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_an_empty_message_is_refused_clearly(invoice, body):
    with pytest.raises(billing.BillingError) as error:
        invoice_comment_add(invoice=invoice, author=None, body=body, from_staff=False)
    assert error.value.messages == ["Write a message before sending it."]
    assert not InvoiceComment.objects.exists()


def test_only_staff_with_the_permission_answer_as_staff(invoice):
    with pytest.raises(PermissionDenied):
        invoice_comment_add(
            invoice=invoice, author=UserFactory(), body="Paid.", from_staff=True
        )
    with pytest.raises(PermissionDenied):
        invoice_comment_add(invoice=invoice, author=None, body="Paid.", from_staff=True)
    assert not InvoiceComment.objects.exists()


def test_staff_never_dispute(invoice, clerk):
    comment = invoice_comment_add(
        invoice=invoice, author=clerk, body="Note", from_staff=True, disputes=True
    )
    assert comment.disputes is False
    assert invoice_dispute_is_open(invoice) is False
