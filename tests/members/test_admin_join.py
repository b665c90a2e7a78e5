"""The applications queue and the recruitment report in the admin.

Staff decide applications one at a time or many at once; a chapter admin sees and
decides only those to their chapters; the recruitment report counts who recruited
whom, and which of them paid."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members import applications, joining, services
from members.joining import ApplicantDetails
from members.models import Application, Membership
from tests.factories import StaffUserFactory
from tests.members.admin_helpers import chapter_admin_of, staff_in
from tests.members.factories import (
    MembershipFactory,
    MembershipTypeFactory,
    PersonFactory,
    make_chapter_tree,
)
from tests.shop.factories import configure_seller

pytestmark = pytest.mark.django_db

INDEX = "register_applications:index"


@pytest.fixture(autouse=True)
def _seller():
    configure_seller()


@pytest.fixture
def chapters():
    return make_chapter_tree()


@pytest.fixture
def vetted():
    """A type whose applications staff approve before the applicant pays."""
    return MembershipTypeFactory(
        name="Vetted", fee=Decimal("800.00"), requires_approval=True
    )


_counter = iter(range(1, 10_000))


def apply(mtype, chapter, *, first_name=None, answers=None, **kwargs):
    n = next(_counter)
    first_name = first_name or f"Applicant{n}"
    return joining.application_submit(
        type=mtype,
        chapter=chapter,
        person=ApplicantDetails(
            first_name=first_name,
            last_name="Søker",
            email=f"{first_name.lower()}.{n}@example.org",
        ),
        answers=answers or {},
        **kwargs,
    )


@pytest.fixture
def officer():
    return staff_in("Membership officers", email="officer@example.org")


@pytest.fixture
def officer_client(verified_client, officer):
    return verified_client(officer)


def statuses(*applications):
    return [Application.objects.get(pk=a.pk).status for a in applications]


# --- The queue ------------------------------------------------------------------------


def test_the_queue_shows_those_awaiting_approval_first_with_their_details(
    officer_client, chapters, vetted
):
    plain = MembershipTypeFactory(name="Plain", fee=Decimal("300.00"))
    paying = apply(plain, chapters.oslo, first_name="Paula")
    waiting = apply(vetted, chapters.bergen, first_name="Wilma")

    response = officer_client.get(reverse(INDEX))

    assert response.status_code == 200
    listed = list(response.context["object_list"])
    assert listed == [
        Application.objects.get(pk=waiting.pk),
        Application.objects.get(pk=paying.pk),
    ]
    html = response.content.decode()
    assert "Wilma Søker" in html
    assert "Awaiting approval" in html
    assert "Bergen" in html
    assert html.count('name="application"') == 2
    assert "Approve selected" in html


def test_the_queue_filters_by_status_and_searches_by_name_or_email(
    officer_client, chapters, vetted
):
    plain = MembershipTypeFactory(name="Plain", fee=Decimal("300.00"))
    apply(plain, chapters.oslo, first_name="Paula")
    wilma = apply(vetted, chapters.bergen, first_name="Wilma")

    filtered = officer_client.get(reverse(INDEX), {"status": "awaiting_approval"})
    assert [a.pk for a in filtered.context["object_list"]] == [wilma.pk]

    by_email = officer_client.get(reverse(INDEX), {"q": wilma.email})
    assert [a.pk for a in by_email.context["object_list"]] == [wilma.pk]

    by_chapter = officer_client.get(reverse(INDEX), {"chapter": chapters.west.pk})
    assert [a.pk for a in by_chapter.context["object_list"]] == [wilma.pk]


def test_officer_approves_two_applications_in_bulk(
    officer_client, chapters, vetted, django_capture_on_commit_callbacks
):
    first = apply(vetted, chapters.oslo)
    second = apply(vetted, chapters.bergen)
    untouched = apply(vetted, chapters.oslo)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(
            reverse("register_applications:approve"),
            {"application": [first.pk, second.pk], "next": reverse(INDEX)},
        )

    assert response.status_code == 302
    assert response.url == reverse(INDEX)
    assert statuses(first, second, untouched) == [
        Application.Status.AWAITING_PAYMENT,
        Application.Status.AWAITING_PAYMENT,
        Application.Status.AWAITING_APPROVAL,
    ]
    first.refresh_from_db()
    assert first.order.total == Decimal("800.00")
    assert first.decided_by is not None
    assert len(mail.outbox) == 2
    page = officer_client.get(response.url)
    assert "2 applications approved." in page.content.decode()


def test_approving_again_leaves_a_decided_application_alone(
    officer_client, chapters, vetted
):
    done = apply(vetted, chapters.oslo)
    applications.application_approve(application=done, by=None)
    order_id = Application.objects.get(pk=done.pk).order_id

    response = officer_client.post(
        reverse("register_applications:approve"), {"application": [done.pk]}
    )

    assert response.status_code == 302
    assert Application.objects.get(pk=done.pk).order_id == order_id
    page = officer_client.get(reverse(INDEX))
    assert "1 application was not awaiting approval" in page.content.decode()


def test_reject_without_a_reason_is_refused_and_nothing_changes(
    officer_client, chapters, vetted
):
    first = apply(vetted, chapters.oslo)
    second = apply(vetted, chapters.oslo)
    url = reverse("register_applications:reject")

    asked = officer_client.post(url, {"application": [first.pk, second.pk]})
    assert asked.status_code == 200
    assert "reason" in asked.context["form"].fields
    assert 'name="reason"' in asked.content.decode()

    response = officer_client.post(
        url, {"application": [first.pk, second.pk], "reason": "   "}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert statuses(first, second) == [Application.Status.AWAITING_APPROVAL] * 2


def test_reject_in_bulk_sends_the_reason_to_each_applicant(
    officer_client, chapters, vetted, django_capture_on_commit_callbacks
):
    first = apply(vetted, chapters.oslo)
    second = apply(vetted, chapters.oslo)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(
            reverse("register_applications:reject"),
            {
                "application": [first.pk, second.pk],
                "reason": "We only take members from the trade.",
            },
        )

    assert response.status_code == 302
    assert statuses(first, second) == [Application.Status.REJECTED] * 2
    assert Membership.objects.get(pk=first.membership_id).status == "rejected"
    assert {m.to[0] for m in mail.outbox} == {first.email, second.email}
    assert all("only take members from the trade" in m.body for m in mail.outbox)


def test_one_application_is_approved_from_its_page(officer_client, chapters, vetted):
    application = apply(
        vetted,
        chapters.oslo,
        answers={
            "join_page_id": 1,
            "consents": [
                {"text": "I accept the statutes.", "required": True, "given": True},
                {"text": "Send me the newsletter.", "required": False, "given": False},
            ],
        },
    )
    detail = reverse("register_applications:inspect", args=[application.pk])

    page = officer_client.get(detail)

    html = page.content.decode()
    assert page.status_code == 200
    assert "I accept the statutes." in html
    assert "Send me the newsletter." in html
    approve_url = reverse("register_applications:approve_one", args=[application.pk])
    assert approve_url in html
    assert reverse("register_persons:edit", args=[application.person_id]) in html

    confirm = officer_client.get(approve_url)
    assert confirm.status_code == 200
    response = officer_client.post(approve_url)

    assert response.status_code == 302
    assert response.url == detail
    application.refresh_from_db()
    assert application.status == Application.Status.AWAITING_PAYMENT
    after = officer_client.get(detail).content.decode()
    assert reverse("shop_orders:inspect", args=[application.order_id]) in after
    assert approve_url not in after


def test_one_application_is_rejected_from_its_page_with_a_reason(
    officer_client, chapters, vetted
):
    application = apply(vetted, chapters.oslo)
    url = reverse("register_applications:reject_one", args=[application.pk])

    assert officer_client.get(url).status_code == 200
    empty = officer_client.post(url, {"reason": ""})
    assert empty.status_code == 200
    assert statuses(application) == [Application.Status.AWAITING_APPROVAL]

    officer_client.post(url, {"reason": "Not in the trade."})

    application.refresh_from_db()
    assert application.status == Application.Status.REJECTED
    assert application.decision_reason == "Not in the trade."


def test_without_the_change_permission_approving_is_forbidden(
    verified_client, chapters, vetted
):
    application = apply(vetted, chapters.oslo)
    officer = staff_in("Membership officers")
    officer.groups.clear()
    officer.user_permissions.add(
        Permission.objects.get(codename="view_application"),
    )
    client = verified_client(officer)

    listing = client.get(reverse(INDEX))
    assert listing.status_code == 200
    assert 'name="application"' not in listing.content.decode()
    assert "Approve selected" not in listing.content.decode()

    bulk = client.post(
        reverse("register_applications:approve"), {"application": [application.pk]}
    )
    one = client.post(
        reverse("register_applications:approve_one", args=[application.pk])
    )
    reject = client.post(
        reverse("register_applications:reject"),
        {"application": [application.pk], "reason": "No."},
    )

    assert (bulk.status_code, one.status_code, reject.status_code) == (403, 403, 403)
    assert statuses(application) == [Application.Status.AWAITING_APPROVAL]


def test_accounts_clerks_see_the_queue_but_do_not_decide(
    verified_client, chapters, vetted
):
    application = apply(vetted, chapters.oslo)
    client = verified_client(staff_in("Accounts clerks"))

    assert client.get(reverse(INDEX)).status_code == 200
    detail = client.get(reverse("register_applications:inspect", args=[application.pk]))
    assert detail.status_code == 200
    assert detail.context["approve_url"] is None
    response = client.post(
        reverse("register_applications:approve_one", args=[application.pk])
    )
    assert response.status_code == 403


def test_a_chapter_admin_sees_and_decides_only_their_chapters(
    verified_client, chapters, vetted
):
    oslo = apply(vetted, chapters.oslo, first_name="Olga")
    bergen = apply(vetted, chapters.bergen, first_name="Berit")
    client = verified_client(chapter_admin_of(chapters.east))

    listing = client.get(reverse(INDEX))

    assert [a.pk for a in listing.context["object_list"]] == [oslo.pk]
    assert "Berit" not in listing.content.decode()
    detail = client.get(reverse("register_applications:inspect", args=[bergen.pk]))
    assert detail.status_code == 404
    client.post(
        reverse("register_applications:approve"),
        {"application": [oslo.pk, bergen.pk]},
    )
    assert statuses(oslo, bergen) == [
        Application.Status.AWAITING_PAYMENT,
        Application.Status.AWAITING_APPROVAL,
    ]


def test_the_queue_query_count_does_not_grow_with_its_length(
    officer_client, chapters, vetted
):
    recruiter = PersonFactory(member_number=4242)
    MembershipFactory(person=recruiter, status=Membership.Status.ACTIVE)
    plain = MembershipTypeFactory(
        name="Open", fee=Decimal("300.00"), allows_open_amount=True
    )

    def count_queries(n):
        for i in range(n):
            mtype = vetted if i % 2 else plain
            kwargs = {} if i % 2 else {"gift_amount": Decimal("50")}
            apply(mtype, chapters.oslo, referral_code="4242", **kwargs)
        with CaptureQueriesContext(connection) as queries:
            response = officer_client.get(reverse(INDEX))
        assert response.status_code == 200
        return len(queries), len(response.context["object_list"])

    few, listed_few = count_queries(5)
    many, listed_many = count_queries(15)
    assert (listed_few, listed_many) == (5, 20)
    assert few == many


def test_an_application_page_of_a_company_links_the_organisation(
    officer_client, chapters
):
    company = MembershipTypeFactory(
        name="Company", kind="organisation", fee=Decimal("5000.00")
    )
    application = joining.application_submit(
        type=company,
        chapter=chapters.oslo,
        person=ApplicantDetails(
            first_name="Cato", last_name="Kontakt", email="cato@firma.example"
        ),
        organisation=joining.OrganisationDetails(name="Firma AS"),
    )

    page = officer_client.get(
        reverse("register_applications:inspect", args=[application.pk])
    )

    html = page.content.decode()
    assert "Firma AS" in html
    assert (
        reverse("register_organisations:edit", args=[application.organisation_id])
        in html
    )
    assert application.order.code in html


# --- Recruitment ----------------------------------------------------------------------


@pytest.fixture
def recruitment(chapters):
    """Rita recruited three (two paid), Rolf one (unpaid), Rita one in Bergen, and
    one recruited last year is outside this year's report."""
    rita = PersonFactory(first_name="Rita", last_name="Verver", member_number=101)
    rolf = PersonFactory(first_name="Rolf", last_name="Hverver", member_number=102)
    mtype = MembershipTypeFactory(name="Standard")
    made = []
    for recruiter, chapter, paid in [
        (rita, chapters.oslo, True),
        (rita, chapters.oslo, True),
        (rita, chapters.oslo, False),
        (rolf, chapters.oslo, False),
        (rita, chapters.bergen, True),
    ]:
        membership = MembershipFactory(
            type=mtype, chapter=chapter, recruited_by=recruiter
        )
        if paid:
            services.membership_activate(membership=membership, by=None)
        made.append(membership)
    old = MembershipFactory(type=mtype, chapter=chapters.oslo, recruited_by=rolf)
    Membership.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    MembershipFactory(type=mtype, chapter=chapters.oslo)  # not recruited
    return {"rita": rita, "rolf": rolf, "made": made}


def test_the_recruitment_report_totals_each_recruiter_for_this_year(
    officer_client, recruitment
):
    response = officer_client.get(reverse("register_recruitment:index"))

    assert response.status_code == 200
    totals = [
        (t["recruited_by__first_name"], t["recruited"], t["paid_count"])
        for t in response.context["totals"]
    ]
    assert totals == [("Rita", 4, 3), ("Rolf", 1, 0)]
    assert len(response.context["page"].object_list) == 5
    html = response.content.decode()
    assert "Rita Verver" in html and "101" in html


def test_the_recruitment_report_exports_its_rows_as_csv(officer_client, recruitment):
    today = timezone.localdate()
    response = officer_client.get(
        reverse("register_recruitment:index"),
        {
            "since": f"{today.year}-01-01",
            "until": f"{today.year}-12-31",
            "export": "csv",
        },
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Recruiter", "Recruiter's member number", "Recruited"]
    body = rows[1:]
    assert len(body) == 5
    assert sorted((r[0], r[-1]) for r in body) == [
        ("Rita Verver", "No"),
        ("Rita Verver", "Yes"),
        ("Rita Verver", "Yes"),
        ("Rita Verver", "Yes"),
        ("Rolf Hverver", "No"),
    ]


def test_the_recruitment_report_takes_a_period_and_refuses_a_reversed_one(
    officer_client, recruitment
):
    last_year = timezone.localdate().year - 1
    response = officer_client.get(
        reverse("register_recruitment:index"),
        {"since": f"{last_year}-01-01", "until": f"{last_year}-12-31"},
    )
    assert [t["recruited"] for t in response.context["totals"]] == [1]

    reversed_range = officer_client.get(
        reverse("register_recruitment:index"),
        {"since": f"{last_year}-12-31", "until": f"{last_year}-01-01"},
    )
    assert reversed_range.status_code == 200
    assert reversed_range.context["form"].errors


def test_a_chapter_admin_sees_only_recruitment_in_their_chapters(
    verified_client, chapters, recruitment
):
    client = verified_client(chapter_admin_of(chapters.west))

    response = client.get(reverse("register_recruitment:index"))

    totals = [
        (t["recruited_by__first_name"], t["recruited"])
        for t in response.context["totals"]
    ]
    assert totals == [("Rita", 1)]


def test_the_recruitment_report_needs_the_right_to_see_memberships(verified_client):
    client = verified_client(StaffUserFactory())
    assert client.get(reverse("register_recruitment:index")).status_code == 403
