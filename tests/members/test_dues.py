"""The yearly dues run: one order and invoice per membership and period, whatever
happens; paying extends, not paying lapses after the grace period."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from members import dues
from members.dues import membership_cancel_at_period_end
from members.joining import person_user_ensure
from members.models import (
    DiscountRule,
    DuesRun,
    Membership,
    MembershipType,
    Renewal,
    RenewalSettings,
)
from members.services import membership_activate, memberships_lapse
from shop import billing
from shop.bankfiles.booking import bank_file_import
from shop.models import Invoice, InvoiceNumberCounter, Order
from tests.members.factories import (
    MembershipFactory,
    MembershipTypeFactory,
    OrganisationFactory,
    PersonFactory,
    make_chapter_tree,
)
from tests.shop.factories import configure_seller
from tests.shop.test_bankfiles import ocr_file

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def _setup(monkeypatch):
    configure_seller()
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)


@pytest.fixture
def group():
    return Group.objects.create(name="Members")


@pytest.fixture
def setup(group):
    chapters = make_chapter_tree()
    yearly = MembershipTypeFactory(
        name="Individual", fee=Decimal("600.00"), grace_days=30, groups=[group]
    )
    return chapters, yearly


def active(mtype, chapter, *, person=None, start=date(2026, 1, 1), **kwargs):
    membership = MembershipFactory(
        person=person or PersonFactory(),
        type=mtype,
        chapter=chapter,
        start=start,
        **kwargs,
    )
    return membership_activate(membership=membership)


def run(ends_by=date(2026, 12, 31), django_capture_on_commit_callbacks=None):
    with django_capture_on_commit_callbacks(execute=True):
        started = dues.dues_run_start(ends_by=ends_by)
    started.refresh_from_db()
    return started


def test_a_run_invoices_every_membership_due_once_even_when_run_twice(
    setup, django_capture_on_commit_callbacks
):
    chapters, yearly = setup
    members = [active(yearly, chapters.oslo) for _ in range(3)]
    lifetime = MembershipTypeFactory(period=MembershipType.Period.LIFETIME)
    active(lifetime, chapters.oslo)
    later = active(
        MembershipTypeFactory(period=MembershipType.Period.ROLLING_YEAR),
        chapters.oslo,
        start=date(2026, 6, 1),
    )  # ends 31 May 2027, not due yet

    first = run(django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert first.status == DuesRun.Status.FINISHED
    assert (first.total, first.invoiced, first.amount) == (3, 3, Decimal("1800.00"))
    assert first.by_email == 3
    renewals = Renewal.objects.filter(membership__in=members)
    assert renewals.count() == 3
    renewal = renewals.first()
    assert (renewal.period_start, renewal.period_end) == (
        date(2027, 1, 1),
        date(2027, 12, 31),
    )
    invoice = Invoice.objects.get(order=renewal.order)
    assert invoice.kid and invoice.total == Decimal("600.00")
    # In the member's own language (Norwegian unless they chose otherwise).
    assert renewal.order.lines.get().description == (
        "Medlemskap: Individual, 01.01.2027–31.12.2027"
    )
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [1, 2, 3]
    assert len(mail.outbox) == 3  # each invoice e-mailed with its PDF
    assert all(message.attachments for message in mail.outbox)

    second = run(django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert (second.total, second.invoiced) == (0, 0)
    assert Order.objects.count() == 3
    assert InvoiceNumberCounter.objects.get().last_number == 3
    assert not Renewal.objects.filter(membership=later).exists()


def test_a_second_run_is_refused_while_one_is_under_way(setup):
    DuesRun.objects.create(ends_by=date(2026, 12, 31), status=DuesRun.Status.RUNNING)
    with pytest.raises(Exception, match="already under way"):
        dues.dues_run_start(ends_by=date(2026, 12, 31))


def test_renewal_prices_use_the_renewal_discounts_and_post_for_those_who_chose_it(
    setup, django_capture_on_commit_callbacks
):
    chapters, yearly = setup
    DiscountRule.objects.create(
        type=yearly,
        name="Senior",
        condition=DiscountRule.Condition.AGE_FROM,
        value=67,
        percent=Decimal("25"),
    )
    DiscountRule.objects.create(
        type=yearly,
        name="Welcome discount",
        condition=DiscountRule.Condition.FIRST_PERIOD,
        amount=Decimal("300"),
    )
    senior = active(
        yearly,
        chapters.oslo,
        person=PersonFactory(birth_date=date(1950, 5, 5), invoices_by_post=True),
    )
    summary = run(django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert summary.by_post == 1
    order = Renewal.objects.get(membership=senior).order
    assert order.total == Decimal("450.00")
    assert [line.description for line in order.lines.all()][1] == "Senior"
    assert Invoice.objects.get(order=order).delivery == Invoice.Delivery.POST
    assert mail.outbox == []  # letters wait in "Letters to post"


def test_an_organisation_is_invoiced_at_its_billing_address(
    setup, django_capture_on_commit_callbacks
):
    chapters, _yearly = setup
    company_type = MembershipTypeFactory(
        kind=MembershipType.Kind.ORGANISATION, fee=Decimal("5000.00")
    )
    company = OrganisationFactory(
        name="Snekkeriet AS",
        billing_email="faktura@snekkeriet.example",
        billing_street="Postboks 7",
    )
    membership = MembershipFactory(
        person=None,
        organisation=company,
        type=company_type,
        chapter=chapters.oslo,
        start=date(2026, 1, 1),
    )
    membership_activate(membership=membership)
    run(django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get()
    assert invoice.buyer_email == "faktura@snekkeriet.example"
    assert "Postboks 7" in invoice.buyer_address


def test_paying_the_renewal_extends_the_membership_and_sends_a_receipt(
    setup, django_capture_on_commit_callbacks
):
    chapters, yearly = setup
    membership = active(yearly, chapters.oslo)
    run(django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        bank_file_import(
            filename="ocr.txt", content=ocr_file([(invoice.kid, "600.00")])
        )
    membership.refresh_from_db()
    assert membership.end == date(2027, 12, 31)
    assert Renewal.objects.get().status == Renewal.Status.PAID
    assert any("er fornyet" in message.subject for message in mail.outbox)
    # Next year's run charges the following period, once.
    with django_capture_on_commit_callbacks(execute=True):
        next_run = dues.dues_run_start(ends_by=date(2027, 12, 31))
    next_run.refresh_from_db()
    assert next_run.invoiced == 1
    assert Renewal.objects.order_by("period_start").last().period_start == date(
        2028, 1, 1
    )


def test_an_unpaid_renewal_lapses_after_the_grace_period_and_access_ends(
    setup, group, django_capture_on_commit_callbacks
):
    chapters, yearly = setup
    membership = active(yearly, chapters.oslo)
    user = person_user_ensure(person=membership.person)
    from members.services import user_sync_groups

    user_sync_groups(user=user)
    assert group in user.groups.all()
    run(django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    assert memberships_lapse(on=date(2027, 1, 30)) == 0  # within the grace period
    user_sync_groups(user=user, on=date(2027, 1, 30))
    assert group in user.groups.all()
    assert memberships_lapse(on=date(2027, 2, 1)) == 1
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ENDED
    assert membership.end_reason == Membership.EndReason.LAPSED
    assert group not in user.groups.all()

    # A late payment brings the membership back for the period it paid.
    invoice = Invoice.objects.get()
    payment = billing.payment_create(order=invoice.order, provider="sandbox")
    billing.payment_confirm(payment=payment)
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE
    assert membership.end == date(2027, 12, 31)


def test_a_member_who_ends_at_the_period_end_is_not_renewed_and_an_open_renewal_is_credited(
    setup, django_capture_on_commit_callbacks
):
    chapters, yearly = setup
    membership = active(yearly, chapters.oslo)
    run(django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    membership_cancel_at_period_end(membership=membership)
    invoice = Invoice.objects.get(kind=Invoice.Kind.INVOICE)
    assert invoice.status == Invoice.Status.CREDITED
    assert Renewal.objects.get().status == Renewal.Status.CANCELLED
    assert not dues.memberships_due(date(2026, 12, 31)).exists()


def test_a_free_type_is_renewed_without_an_invoice(
    setup, django_capture_on_commit_callbacks
):
    chapters, _yearly = setup
    honorary = MembershipTypeFactory(fee=Decimal("0.00"))
    membership = active(honorary, chapters.oslo)
    summary = run(django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert (summary.free, summary.invoiced) == (1, 0)
    membership.refresh_from_db()
    assert membership.end == date(2027, 12, 31)
    assert Order.objects.count() == 0


def test_the_schedule_runs_only_when_the_settings_say_so(
    setup, django_capture_on_commit_callbacks
):
    chapters, yearly = setup
    active(yearly, chapters.oslo)
    assert dues.dues_run_scheduled() is None
    config = RenewalSettings.load()
    config.automatic, config.days_ahead = True, 45
    config.save()
    with django_capture_on_commit_callbacks(execute=True):
        scheduled = dues.dues_run_scheduled()
    scheduled.refresh_from_db()
    assert scheduled.scheduled and scheduled.invoiced == 1
    assert scheduled.ends_by == date(2027, 1, 15)
