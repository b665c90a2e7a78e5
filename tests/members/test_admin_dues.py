"""Dues runs, chapter fees and discount rules in the admin.

The clerk sees how many memberships are due before starting a run, then the run's
page sums up what it invoiced; running it again for the same date invoices nothing.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import DiscountRule, DuesRun, Membership, MembershipPrice
from tests.factories import StaffUserFactory
from tests.members.admin_helpers import staff_in
from tests.members.factories import (
    MembershipFactory,
    MembershipTypeFactory,
    PersonFactory,
    make_chapter_tree,
)
from tests.shop.factories import configure_seller

pytestmark = pytest.mark.django_db

START = "members_dues_runs:start"


@pytest.fixture(autouse=True)
def _seller():
    configure_seller()


@pytest.fixture
def chapters():
    return make_chapter_tree()


@pytest.fixture
def clerk_client(verified_client):
    return verified_client(staff_in("Accounts clerks", email="clerk@example.org"))


@pytest.fixture
def register(chapters):
    """Two memberships end this year (one holder wants letters), one next year, and
    a lifetime membership never ends."""
    year = timezone.localdate().year
    yearly = MembershipTypeFactory(name="Yearly", fee=Decimal("500.00"))
    lifetime = MembershipTypeFactory(
        name="Lifetime", period="lifetime", fee=Decimal("0.00")
    )
    by_mail = PersonFactory(first_name="Eva", postal_street="Gata 1")
    by_post = PersonFactory(
        first_name="Per",
        invoices_by_post=True,
        postal_street="Vegen 2",
        postal_postcode="5003",
        postal_city="Bergen",
    )
    active = Membership.Status.ACTIVE
    due = [
        MembershipFactory(
            person=person,
            type=yearly,
            chapter=chapters.oslo,
            status=active,
            start=date(year, 1, 1),
            end=date(year, 12, 31),
        )
        for person in (by_mail, by_post)
    ]
    MembershipFactory(
        type=yearly,
        chapter=chapters.oslo,
        status=active,
        start=date(year, 1, 1),
        end=date(year + 1, 12, 31),
    )
    MembershipFactory(type=lifetime, chapter=chapters.oslo, status=active)
    return due


def start_run(client, ends_by, capture):
    with capture(execute=True):
        return client.post(reverse(START), {"ends_by": ends_by, "confirm": "1"})


def test_the_clerk_sees_the_count_first_then_the_runs_summary(
    clerk_client, register, django_capture_on_commit_callbacks
):
    year = timezone.localdate().year

    form = clerk_client.get(reverse(START))
    assert form.status_code == 200
    assert form.context["form"].initial["ends_by"] == date(year, 12, 31)

    counted = clerk_client.post(reverse(START), {"ends_by": f"{year}-12-31"})
    assert counted.status_code == 200
    assert counted.context["due"] == 2
    assert "2 memberships whose period ends by" in counted.content.decode()
    assert not DuesRun.objects.exists()

    started = start_run(
        clerk_client, f"{year}-12-31", django_capture_on_commit_callbacks
    )

    run = DuesRun.objects.get()
    assert started.status_code == 302
    assert started.url == reverse("members_dues_runs:detail", args=[run.pk])
    assert run.status == DuesRun.Status.FINISHED
    assert (run.invoiced, run.by_email, run.by_post) == (2, 1, 1)
    assert run.amount == Decimal("1000.00")
    page = clerk_client.get(started.url)
    html = page.content.decode()
    assert page.context["run"].invoiced == 2
    assert '<dd class="dues-run-invoiced">2</dd>' in html
    assert 'http-equiv="refresh"' not in html
    assert reverse("shop_letters_to_post") in html
    assert reverse("shop_orders:index") in html
    assert len(page.context["renewals"]) == 2

    listing = clerk_client.get(reverse("members_dues_runs:index"))
    assert [row["run"] for row in listing.context["rows"]] == [run]


def test_a_second_run_for_the_same_date_invoices_nothing(
    clerk_client, register, django_capture_on_commit_callbacks
):
    year = timezone.localdate().year
    start_run(clerk_client, f"{year}-12-31", django_capture_on_commit_callbacks)

    counted = clerk_client.post(reverse(START), {"ends_by": f"{year}-12-31"})
    assert counted.context["due"] == 0
    second = start_run(
        clerk_client, f"{year}-12-31", django_capture_on_commit_callbacks
    )

    run = DuesRun.objects.order_by("-pk").first()
    assert second.url == reverse("members_dues_runs:detail", args=[run.pk])
    assert run.invoiced == 0
    page = clerk_client.get(second.url)
    assert '<dd class="dues-run-invoiced">0</dd>' in page.content.decode()


def test_a_run_under_way_refuses_another_and_its_page_refreshes_itself(
    clerk_client, register
):
    busy = DuesRun.objects.create(
        ends_by=date(2030, 12, 31), status=DuesRun.Status.RUNNING, total=10, done=4
    )
    year = timezone.localdate().year

    refused = clerk_client.post(
        reverse(START), {"ends_by": f"{year}-12-31", "confirm": "1"}
    )

    assert refused.status_code == 200
    assert "already under way" in refused.content.decode()
    assert DuesRun.objects.count() == 1
    page = clerk_client.get(reverse("members_dues_runs:detail", args=[busy.pk]))
    html = page.content.decode()
    assert '<meta http-equiv="refresh" content="3">' in html
    assert 'value="40"' in html


def test_without_the_right_to_start_a_run_starting_is_forbidden(
    verified_client, register
):
    client = verified_client(staff_in("Membership officers"))
    year = timezone.localdate().year

    listing = client.get(reverse("members_dues_runs:index"))
    assert listing.status_code == 200
    assert reverse(START) not in listing.content.decode()
    assert client.get(reverse(START)).status_code == 403
    response = client.post(reverse(START), {"ends_by": f"{year}-12-31", "confirm": "1"})

    assert response.status_code == 403
    assert not DuesRun.objects.exists()


def test_dues_runs_are_not_shown_to_staff_without_the_right(verified_client):
    run = DuesRun.objects.create(ends_by=date(2030, 12, 31))
    client = verified_client(StaffUserFactory())

    assert client.get(reverse("members_dues_runs:index")).status_code == 403
    assert (
        client.get(reverse("members_dues_runs:detail", args=[run.pk])).status_code
        == 403
    )


# --- Chapter fees and discount rules --------------------------------------------------


@pytest.fixture
def officer_client(verified_client):
    return verified_client(staff_in("Membership officers"))


def rule_data(mtype, **overrides):
    data = {
        "type": str(mtype.pk),
        "name": "Youth",
        "condition": DiscountRule.Condition.AGE_UNDER,
        "value": "26",
        "applies_to": DiscountRule.AppliesTo.BOTH,
        "percent": "50",
        "amount": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_a_discount_rule_says_at_the_field_what_is_wrong(officer_client):
    mtype = MembershipTypeFactory()
    url = reverse("register_discount_rules:add")

    both = officer_client.post(url, rule_data(mtype, amount="100"))
    assert both.status_code == 200
    assert "not both" in both.context["form"].errors["percent"][0]
    neither = officer_client.post(url, rule_data(mtype, percent=""))
    assert neither.context["form"].errors["percent"]
    no_number = officer_client.post(url, rule_data(mtype, value=""))
    assert no_number.context["form"].errors["value"] == [
        "This condition needs a number."
    ]
    bad_month = officer_client.post(
        url, rule_data(mtype, condition="joins_from_month", value="13")
    )
    assert bad_month.context["form"].errors["value"] == ["Give a month from 1 to 12."]
    assert "Give a month from 1 to 12." in bad_month.content.decode()
    assert not DiscountRule.objects.exists()

    saved = officer_client.post(url, rule_data(mtype))

    assert saved.status_code == 302
    rule = DiscountRule.objects.get()
    assert (rule.percent, rule.amount) == (Decimal("50.00"), None)


def test_chapter_fees_are_listed_by_type_and_one_per_chapter(officer_client, chapters):
    first = MembershipTypeFactory(name="First")
    second = MembershipTypeFactory(name="Second")
    MembershipPrice.objects.create(type=first, chapter=chapters.east, fee="450")
    MembershipPrice.objects.create(type=second, chapter=chapters.west, fee="350")
    url = reverse("register_chapter_fees:index")

    listing = officer_client.get(url, {"type": first.pk})

    assert [p.type for p in listing.context["object_list"]] == [first]
    duplicate = officer_client.post(
        reverse("register_chapter_fees:add"),
        {"type": first.pk, "chapter": chapters.east.pk, "fee": "400"},
    )
    assert duplicate.status_code == 200
    assert "already has its own fee" in duplicate.content.decode()
    assert MembershipPrice.objects.count() == 2


def test_accounts_clerks_do_not_change_prices(verified_client):
    client = verified_client(staff_in("Accounts clerks"))
    response = client.get(reverse("register_discount_rules:add"))
    assert response.status_code in (302, 403)
    assert not DiscountRule.objects.exists()
