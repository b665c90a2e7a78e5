"""Joining through the services: application, order, payment, access, welcome."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from members import applications, dues, joining
from members.joining import (
    AlreadyInRegister,
    ApplicantDetails,
    ApplicationInProgress,
    JoinError,
    OrganisationDetails,
)
from members.models import (
    Application,
    DiscountRule,
    Membership,
    MembershipPrice,
    MembershipType,
    Organisation,
    Person,
)
from members.services import memberships_lapse, person_assign_member_number
from shop import billing
from shop.bankfiles.booking import bank_file_import
from shop.models import Gift, Invoice, Order
from tests.members.factories import (
    MembershipFactory,
    MembershipTypeFactory,
    PersonFactory,
    make_chapter_tree,
)
from tests.shop.factories import configure_seller
from tests.shop.test_bankfiles import ocr_file

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)


_capture = None


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch, django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks
    configure_seller()
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)


def committed(function, *args, **kwargs):
    """Call ``function`` and run what it left for after the commit (e-mails)."""
    with _capture(execute=True):
        return function(*args, **kwargs)


@pytest.fixture
def chapters():
    return make_chapter_tree()


@pytest.fixture
def members_group():
    return Group.objects.create(name="Members")


@pytest.fixture
def individual(members_group):
    return MembershipTypeFactory(
        name="Individual", fee=Decimal("600.00"), groups=[members_group]
    )


def details(**overrides) -> ApplicantDetails:
    values = {
        "first_name": "Ingrid",
        "last_name": "Berg",
        "email": "ingrid@example.org",
        "postal_street": "Storgata 1",
        "postal_postcode": "0155",
        "postal_city": "Oslo",
        "language": "en",
    }
    values.update(overrides)
    return ApplicantDetails(**values)


def submit(mtype, chapter, **kwargs):
    kwargs.setdefault("person", details())
    kwargs.setdefault("answers", {})
    kwargs.setdefault("language", "en")
    return committed(joining.application_submit, type=mtype, chapter=chapter, **kwargs)


def pay_by_card(order: Order):
    payment = billing.payment_create(order=order, provider="sandbox")
    committed(billing.payment_confirm, payment=payment, raw={"test": True})


def test_the_price_is_the_nearest_chapters_own_fee_less_the_best_discount(
    chapters, individual
):
    MembershipPrice.objects.create(type=individual, chapter=chapters.east, fee="450")
    DiscountRule.objects.create(
        type=individual,
        name="Youth",
        condition=DiscountRule.Condition.AGE_UNDER,
        value=26,
        percent=Decimal("50"),
    )
    DiscountRule.objects.create(
        type=individual,
        name="Student",
        condition=DiscountRule.Condition.AGE_UNDER,
        value=30,
        amount=Decimal("100"),
    )
    oslo = joining.quote(type=individual, chapter=chapters.oslo)
    assert (oslo.fee, oslo.discount, oslo.total) == (
        Decimal("450.00"),
        Decimal("0"),
        Decimal("450.00"),
    )
    young = joining.quote(
        type=individual, chapter=chapters.oslo, birth_date=date(2005, 1, 1)
    )
    assert young.discount_name == "Youth"
    assert young.total == Decimal("225.00")
    bergen = joining.quote(
        type=individual, chapter=chapters.bergen, birth_date=date(1998, 1, 1)
    )
    assert (bergen.fee, bergen.discount_name, bergen.total) == (
        Decimal("600.00"),
        "Student",
        Decimal("500.00"),
    )


def test_an_application_becomes_an_order_with_the_discount_as_its_own_line(
    chapters, individual
):
    DiscountRule.objects.create(
        type=individual,
        name="Late in the year",
        condition=DiscountRule.Condition.JOINS_FROM_MONTH,
        value=9,
        percent=Decimal("50"),
    )
    application = submit(individual, chapters.oslo)
    assert application.status == Application.Status.AWAITING_PAYMENT
    order = application.order
    assert order.total == Decimal("300.00")
    assert [(line.description, line.total) for line in order.lines.all()] == [
        ("Membership: Individual, 11/23/2026–12/31/2026", Decimal("600.00")),
        ("Late in the year", Decimal("-300.00")),
    ]
    assert order.return_url == f"/members/join/done/{application.uuid}/"
    assert application.membership.status == Membership.Status.APPLIED
    assert Person.objects.filter(email="ingrid@example.org").count() == 1


def test_paying_activates_grants_the_groups_and_sends_the_welcome_link(
    chapters, individual, members_group
):
    application = submit(individual, chapters.oslo)
    pay_by_card(application.order)
    application.refresh_from_db()
    membership = application.membership
    membership.refresh_from_db()
    assert application.status == Application.Status.COMPLETED
    assert membership.status == Membership.Status.ACTIVE
    assert membership.end == date(2026, 12, 31)
    person = application.person
    person.refresh_from_db()
    assert person.member_number
    assert person.user.email == "ingrid@example.org"
    assert members_group in person.user.groups.all()
    assert Order.objects.get(pk=application.order_id).user == person.user
    welcome = [m for m in mail.outbox if "Welcome" in m.subject]
    assert len(welcome) == 1
    assert "/account/link/?sesame=" in welcome[0].body
    assert "/members/membership/cancel/" in welcome[0].body
    # A second confirmation of the same order changes nothing.
    applications.application_complete(application=application)
    assert len([m for m in mail.outbox if "Welcome" in m.subject]) == 1


def test_the_welcome_link_signs_the_new_member_in(client, chapters, individual):
    application = submit(individual, chapters.oslo)
    pay_by_card(application.order)
    body = next(m.body for m in mail.outbox if "Welcome" in m.subject)
    link = next(line for line in body.splitlines() if "/account/link/" in line)
    response = client.get(link.replace("http://127.0.0.1:8000", ""))
    assert response.status_code == 302
    person = Person.objects.get(pk=application.person_id)
    assert client.session["_auth_user_id"] == str(person.user_id)


def test_an_old_or_forged_sign_in_link_says_so_and_signs_nobody_in(client):
    response = client.get("/account/link/?sesame=forged")
    assert response.status_code == 403
    assert "does not work" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_email_already_in_the_register_gets_a_sign_in_link_not_a_duplicate(
    chapters, individual
):
    existing = PersonFactory(email="ingrid@example.org")
    with pytest.raises(AlreadyInRegister) as raised:
        submit(individual, chapters.oslo, person=details(email="INGRID@example.org"))
    assert raised.value.person == existing
    assert Person.objects.count() == 1
    assert Membership.objects.count() == 0
    committed(joining.signin_link_send, email="ingrid@example.org", next_path="/j/")
    existing.refresh_from_db()
    assert existing.user is not None
    assert "/account/link/?sesame=" in mail.outbox[-1].body


def test_staff_get_no_sign_in_link(chapters, individual):
    from tests.factories import StaffUserFactory

    staff = StaffUserFactory(email="clerk@example.org")
    committed(joining.signin_link_send, email="clerk@example.org", next_path="/")
    assert staff.email in mail.outbox[-1].to
    assert "sesame" not in mail.outbox[-1].body


def test_a_second_try_finds_the_unfinished_application(chapters, individual):
    first = submit(individual, chapters.oslo)
    with pytest.raises(ApplicationInProgress) as raised:
        submit(individual, chapters.oslo)
    assert raised.value.application == first
    assert Person.objects.count() == 1
    assert Membership.objects.count() == 1
    assert Order.objects.count() == 1


def test_a_signed_in_person_joins_without_becoming_a_second_person(
    chapters, individual
):
    person = PersonFactory(email="ola@example.org")
    user = joining.person_user_ensure(person=person)
    application = submit(
        individual, chapters.oslo, person=details(email="other@example.org"), user=user
    )
    assert application.person == person
    assert Person.objects.count() == 1


def test_paying_by_invoice_waits_for_the_bank_then_activates(
    chapters, individual, members_group
):
    from shop.providers import get_provider
    from shop.providers.base import RedirectRequired

    application = submit(individual, chapters.oslo)
    payment = billing.payment_create(order=application.order, provider="invoice")
    with pytest.raises(RedirectRequired):
        committed(get_provider("invoice").start_payment, payment=payment, request=None)
    membership = Membership.objects.get(pk=application.membership_id)
    assert membership.status == Membership.Status.PENDING_PAYMENT
    invoice = Invoice.objects.get(order=application.order)
    assert any(invoice.kid in m.body for m in mail.outbox)  # the invoice e-mail
    person = Person.objects.get(pk=application.person_id)
    assert person.user is None  # no access yet

    committed(
        bank_file_import,
        filename="ocr.txt",
        content=ocr_file([(invoice.kid, "600.00")]),
    )
    membership.refresh_from_db()
    person.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE
    assert members_group in person.user.groups.all()
    assert any("Welcome" in m.subject for m in mail.outbox)


def test_an_open_amount_type_takes_a_gift_and_thanks_for_it(chapters):
    mtype = MembershipTypeFactory(fee=Decimal("300.00"), allows_open_amount=True)
    application = submit(mtype, chapters.oslo, gift_amount=Decimal("200.00"))
    assert application.order.total == Decimal("500.00")
    assert application.order.open_amount
    pay_by_card(application.order)
    gift = Gift.objects.get()
    assert gift.amount == Decimal("200.00")
    welcome = next(m for m in mail.outbox if "Welcome" in m.subject)
    assert "Thank you for your gift of 200.00" in welcome.body


def test_an_overpaid_open_amount_invoice_records_the_excess_as_a_gift(chapters):
    mtype = MembershipTypeFactory(fee=Decimal("300.00"), allows_open_amount=True)
    application = submit(mtype, chapters.oslo)
    invoice = billing.invoice_issue(order=application.order)
    assert invoice.open_amount
    committed(
        bank_file_import,
        filename="ocr.txt",
        content=ocr_file([(invoice.kid, "750.00")]),
    )
    assert Gift.objects.get().amount == Decimal("450.00")
    welcome = next(m for m in mail.outbox if "Welcome" in m.subject)
    assert "Thank you for your gift of 450.00" in welcome.body


def test_a_gift_is_refused_for_a_type_without_open_amount(chapters, individual):
    with pytest.raises(JoinError):
        submit(individual, chapters.oslo, gift_amount=Decimal("50"))
    assert Person.objects.count() == 0


def test_a_type_that_needs_approval_grants_nothing_before_approval(
    chapters, members_group
):
    from tests.factories import StaffUserFactory

    mtype = MembershipTypeFactory(
        fee=Decimal("800.00"), requires_approval=True, groups=[members_group]
    )
    application = submit(mtype, chapters.oslo)
    assert application.status == Application.Status.AWAITING_APPROVAL
    assert application.order is None
    assert joining.application_pay_path(application) == ""
    person = Person.objects.get(pk=application.person_id)
    assert person.user is None
    assert "received" in mail.outbox[0].subject

    clerk = StaffUserFactory()
    committed(applications.application_approve, application=application, by=clerk)
    application.refresh_from_db()
    assert application.status == Application.Status.AWAITING_PAYMENT
    assert application.order.total == Decimal("800.00")
    assert "/shop/pay/" in mail.outbox[-1].body
    pay_by_card(application.order)
    person.refresh_from_db()
    assert members_group in person.user.groups.all()


def test_a_rejected_application_is_told_why_and_gets_nothing(chapters):
    from tests.factories import StaffUserFactory

    mtype = MembershipTypeFactory(requires_approval=True)
    application = submit(mtype, chapters.oslo)
    clerk = StaffUserFactory()
    with pytest.raises(JoinError):
        applications.application_reject(application=application, reason=" ", by=clerk)
    committed(
        applications.application_reject,
        application=application,
        reason="Only for professionals.",
        by=clerk,
    )
    application.refresh_from_db()
    assert application.status == Application.Status.REJECTED
    assert application.membership.status == Membership.Status.REJECTED
    assert "Only for professionals." in mail.outbox[-1].body
    with pytest.raises(JoinError):
        applications.application_approve(application=application, by=clerk)


def test_a_company_joins_and_its_contact_person_gets_access(chapters, members_group):
    company = MembershipTypeFactory(
        name="Company",
        kind=MembershipType.Kind.ORGANISATION,
        fee=Decimal("5000.00"),
        groups=[members_group],
    )
    application = submit(
        company,
        chapters.oslo,
        organisation=OrganisationDetails(
            name="Snekkeriet AS",
            organisation_number="974 760 673",
            billing_email="faktura@snekkeriet.example",
        ),
    )
    organisation = Organisation.objects.get()
    assert organisation.organisation_number == "974760673"
    assert application.order.customer_email == "faktura@snekkeriet.example"
    assert application.membership.organisation == organisation
    pay_by_card(application.order)
    contact = Person.objects.get(email="ingrid@example.org")
    assert contact.employments.get().is_contact
    assert members_group in contact.user.groups.all()


def test_a_bad_organisation_number_is_refused_and_nothing_is_stored(chapters):
    company = MembershipTypeFactory(kind=MembershipType.Kind.ORGANISATION)
    with pytest.raises(JoinError):
        submit(
            company,
            chapters.oslo,
            organisation=OrganisationDetails(name="X", organisation_number="123"),
        )
    assert Person.objects.count() == 0
    assert Organisation.objects.count() == 0


def test_a_recruitment_code_records_who_recruited(chapters, individual):
    recruiter = PersonFactory()
    MembershipFactory(
        person=recruiter, type=individual, status=Membership.Status.ACTIVE
    )
    number = person_assign_member_number(person=recruiter)
    application = submit(individual, chapters.oslo, referral_code=str(number))
    assert application.recruited_by == recruiter
    assert application.membership.recruited_by == recruiter
    unknown = submit(
        individual,
        chapters.oslo,
        person=details(email="someone@example.org"),
        referral_code="999999",
    )
    assert unknown.recruited_by is None


def test_crediting_an_unpaid_join_invoice_cancels_the_application(chapters, individual):
    application = submit(individual, chapters.oslo)
    invoice = billing.invoice_issue(order=application.order)
    billing.credit_note_issue(invoice=invoice, reason="Applied twice")
    application.refresh_from_db()
    assert application.status == Application.Status.CANCELLED
    assert application.membership.status == Membership.Status.CANCELLED


def test_a_member_ends_at_the_end_of_the_period_without_grace(
    chapters, individual, members_group
):
    application = submit(individual, chapters.oslo)
    pay_by_card(application.order)
    membership = Membership.objects.get(pk=application.membership_id)
    token = dues.membership_cancel_token(membership)
    assert dues.membership_from_cancel_token(token) == membership
    assert dues.membership_from_cancel_token(token + "x") is None
    dues.membership_cancel_at_period_end(membership=membership)
    membership.refresh_from_db()
    assert membership.cancel_requested_at is not None
    user = Person.objects.get(pk=application.person_id).user
    assert members_group in user.groups.all()  # until the period ends

    assert memberships_lapse(on=date(2027, 1, 1)) == 1
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ENDED
    assert membership.end_reason == Membership.EndReason.RESIGNED
    assert members_group not in user.groups.all()


def test_an_unpaid_application_does_not_lapse_or_grant(chapters, individual):
    submit(individual, chapters.oslo)
    assert memberships_lapse(on=TODAY + timedelta(days=400)) == 0
