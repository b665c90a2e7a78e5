"""The public join page: the form, the application it sends, the page after paying,
and the link that ends a membership at the end of its period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.formats import date_format

from members import applications, dues
from members.models import (
    Application,
    DiscountRule,
    JoinConsent,
    JoinPage,
    Membership,
    MembershipPrice,
    MembershipType,
    Organisation,
    Person,
)
from shop import billing
from shop.models import Order
from shop.paylinks import order_from_token
from tests.factories import (
    StandardPage,
    UserFactory,
    add_page,
    soup,
    visible_text,
)
from tests.members.factories import (
    MembershipTypeFactory,
    PersonFactory,
    make_chapter_tree,
)
from tests.shop.factories import configure_seller

pytestmark = pytest.mark.django_db

CONSENT = "I accept the statutes of the association."
NEWSLETTER = "Send me the newsletter."


@pytest.fixture
def chapters(db):
    return make_chapter_tree()


@pytest.fixture
def individual(chapters):
    membership_type = MembershipTypeFactory(
        name="Individual",
        fee=Decimal("500.00"),
        description="Everything the association offers.",
        allows_open_amount=True,
    )
    MembershipPrice.objects.create(
        type=membership_type, chapter=chapters.east, fee=Decimal("400.00")
    )
    DiscountRule.objects.create(
        type=membership_type,
        name="Welcome discount",
        condition=DiscountRule.Condition.FIRST_PERIOD,
        amount=Decimal("50.00"),
    )
    return membership_type


@pytest.fixture
def company(chapters):
    return MembershipTypeFactory(
        name="Company",
        kind=MembershipType.Kind.ORGANISATION,
        fee=Decimal("3000.00"),
    )


@pytest.fixture
def join_page(home_page, individual, company):
    configure_seller()
    page = JoinPage(
        title="Join us",
        slug="join",
        intro="<p>Become a member today.</p>",
        ask_phone=True,
        ask_address=True,
        ask_gift=True,
    )
    page.consents = [
        JoinConsent(text=CONSENT, required=True, sort_order=0),
        JoinConsent(text=NEWSLETTER, required=False, sort_order=1),
    ]
    home_page.add_child(instance=page)
    page.save_revision().publish()
    return page


def form_data(page, chapter, membership_type, **overrides):
    required, optional = page.consents.order_by("sort_order")
    data = {
        "type": membership_type.pk,
        "chapter": chapter.pk,
        "first_name": "Kari",
        "last_name": "Nordmann",
        "email": "kari@example.org",
        "phone": "+47 900 00 000",
        "postal_street": "Storgata 1",
        "postal_postcode": "0155",
        "postal_city": "Oslo",
        "postal_country": "NO",
        "gift_amount": "",
        f"consent_{required.pk}": "on",
        "ref": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def client_factory():
    """Another browser: a client with its own cookies."""
    return Client


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """Post the join form; e-mails are sent once the transaction commits."""

    def post(client, page, data, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(page.url, data, **extra)

    return post


def pay_page_order(location: str):
    """The order a redirect to the shop's pay page names."""
    match = resolve(location)
    assert match.view_name == "shop:pay"
    return order_from_token(match.kwargs["token"])


def session_applications(client) -> list[str]:
    return client.session.get("join_applications", [])


# --- The form --------------------------------------------------------------------------


def test_page_lists_the_types_with_the_chapters_price_and_discount(
    client, join_page, chapters, individual, company
):
    response = client.get(join_page.url, {"chapter": chapters.oslo.pk})

    assert response.status_code == 200
    html = soup(response)
    text = visible_text(response)
    assert "Become a member today." in text
    assert "Everything the association offers." in text
    # Oslo lies in East, which has its own fee: 400, less the welcome discount.
    price = html.find(id=f"id_type_{individual.pk}_price").get_text(" ", strip=True)
    assert "400.00 NOK" in price
    assert "350.00 NOK" in price
    assert "Welcome discount: −50.00 NOK" in price
    assert "3000.00 NOK" in html.find(id=f"id_type_{company.pk}_price").get_text()
    label = html.find("label", attrs={"for": f"id_type_{individual.pk}"})
    assert "Individual" in label.get_text()
    # The chapters: the local ones grouped under their region.
    select = html.find("select", attrs={"name": "chapter"})
    groups = {group["label"]: group for group in select.find_all("optgroup")}
    assert set(groups) == {"East", "West"}
    assert groups["East"].find("option", string="Oslo") is not None
    assert select.find("option", selected=True)["value"] == str(chapters.oslo.pk)
    # Each consent as a checkbox with its label, and the referral code hidden.
    assert html.find("label", string=CONSENT) is not None
    assert html.find("input", attrs={"name": "ref", "type": "hidden"}) is not None


def test_without_a_chapter_the_types_own_fee_is_shown(client, join_page, individual):
    response = client.get(join_page.url)
    price = soup(response).find(id=f"id_type_{individual.pk}_price").get_text()
    assert "500.00" in price and "450.00" in price


def test_fixed_chapter_asks_no_chapter(client, join_page, chapters, individual):
    join_page.default_chapter = chapters.west
    join_page.save_revision().publish()
    response = client.get(join_page.url)
    html = soup(response)
    assert html.find("select", attrs={"name": "chapter"}) is None
    assert "You are joining West." in visible_text(response)


def test_a_type_with_an_age_discount_asks_the_birth_date(
    submit, client, join_page, chapters, individual
):
    DiscountRule.objects.create(
        type=individual,
        name="Youth",
        condition=DiscountRule.Condition.AGE_UNDER,
        value=26,
        percent=Decimal("50"),
    )
    response = client.get(join_page.url)
    assert soup(response).find("input", attrs={"name": "birth_date"}) is not None

    response = submit(
        client, join_page, form_data(join_page, chapters.oslo, individual)
    )
    assert response.status_code == 200
    assert "Enter your birth date." in visible_text(response)

    future = date(timezone.localdate().year + 1, 1, 1).isoformat()
    response = submit(
        client,
        join_page,
        form_data(join_page, chapters.oslo, individual, birth_date=future),
    )
    assert "The birth date must be in the past." in visible_text(response)
    response = submit(
        client,
        join_page,
        form_data(join_page, chapters.oslo, individual, birth_date="1850-01-01"),
    )
    assert "more than 120 years old" in visible_text(response)
    assert not Person.objects.exists()

    response = submit(
        client,
        join_page,
        form_data(join_page, chapters.oslo, individual, birth_date="2010-05-17"),
    )
    assert response.status_code == 302
    application = Application.objects.get()
    assert application.person.birth_date == date(2010, 5, 17)
    # Half of East's 400: the youth discount beats the welcome discount.
    assert application.order.total == Decimal("200.00")


# --- Submitting ------------------------------------------------------------------------


def test_good_submission_makes_one_application_and_goes_to_the_pay_page(
    submit, client, join_page, chapters, individual
):
    response = submit(
        client,
        join_page,
        form_data(join_page, chapters.oslo, individual, gift_amount="100"),
    )

    application = Application.objects.get()
    assert response.status_code == 302
    assert pay_page_order(response["Location"]) == application.order
    assert Person.objects.count() == 1
    person = application.person
    assert (person.first_name, person.last_name, person.email) == (
        "Kari",
        "Nordmann",
        "kari@example.org",
    )
    assert (person.postal_street, person.postal_city) == ("Storgata 1", "Oslo")
    membership = Membership.objects.get()
    assert membership.person == person
    assert membership.status == Membership.Status.APPLIED
    assert membership.chapter == chapters.oslo
    assert application.status == Application.Status.AWAITING_PAYMENT
    assert application.gift_amount == Decimal("100.00")
    assert application.answers["join_page_id"] == join_page.pk
    assert application.answers["consents"] == [
        {"text": CONSENT, "required": True, "given": True},
        {"text": NEWSLETTER, "required": False, "given": False},
    ]
    order = Order.objects.get()
    assert application.order == order
    # East's fee, the welcome discount, the gift.
    assert order.total == Decimal("450.00")
    assert session_applications(client) == [str(application.uuid)]


def test_required_consent_missing_stores_nothing(
    submit, client, join_page, chapters, individual
):
    data = form_data(join_page, chapters.oslo, individual)
    required = join_page.consents.get(required=True)
    del data[f"consent_{required.pk}"]

    response = submit(client, join_page, data)

    assert response.status_code == 200
    assert "You must agree to this to join." in visible_text(response)
    # What was typed is kept.
    assert soup(response).find("input", attrs={"name": "email"})["value"] == (
        "kari@example.org"
    )
    assert not Person.objects.exists()
    assert not Application.objects.exists()
    assert not Order.objects.exists()


def test_email_already_in_register_sends_a_sign_in_link(
    submit, client, join_page, chapters, individual
):
    known = PersonFactory(email="kari@example.org")

    response = submit(
        client, join_page, form_data(join_page, chapters.oslo, individual)
    )

    assert response.status_code == 302
    assert response["Location"] == f"{join_page.url}?sent=signin"
    assert Person.objects.get() == known
    assert not Application.objects.exists()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["kari@example.org"]
    assert "/account/link/" in mail.outbox[0].body
    page = client.get(response["Location"])
    assert "Check your e-mail" in visible_text(page)
    assert "Kari" not in visible_text(page)


def test_second_submit_in_the_same_session_resumes(
    submit, client, join_page, chapters, individual
):
    data = form_data(join_page, chapters.oslo, individual)
    first = submit(client, join_page, data)
    second = submit(client, join_page, data)

    assert Application.objects.count() == 1
    assert Person.objects.count() == 1
    assert Order.objects.count() == 1
    assert second.status_code == 302
    assert pay_page_order(second["Location"]) == pay_page_order(first["Location"])
    assert not mail.outbox


def test_unfinished_application_from_another_browser_gets_a_continue_link(
    submit, client, client_factory, join_page, chapters, individual
):
    data = form_data(join_page, chapters.oslo, individual)
    submit(client, join_page, data)

    other = client_factory()
    response = submit(other, join_page, data)

    assert response["Location"] == f"{join_page.url}?sent=continue"
    assert Application.objects.count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["kari@example.org"]
    assert session_applications(other) == []


def test_company_joins_with_its_contact_person(
    submit, client, join_page, chapters, company
):
    data = form_data(
        join_page,
        chapters.bergen,
        company,
        organisation_name="Fjord Tools AS",
        organisation_number="974 760 673",
        organisation_email="post@fjordtools.example",
        billing_email="invoices@fjordtools.example",
    )

    response = submit(client, join_page, data)

    assert response.status_code == 302
    application = Application.objects.get()
    organisation = Organisation.objects.get()
    assert organisation.name == "Fjord Tools AS"
    assert organisation.organisation_number == "974760673"
    assert organisation.billing_email == "invoices@fjordtools.example"
    assert organisation.postal_city == "Oslo"
    assert application.organisation == organisation
    assert application.person.email == "kari@example.org"
    assert application.membership.organisation == organisation
    assert application.membership.person is None
    assert application.order.customer_email == "invoices@fjordtools.example"


def test_company_fields_are_required_only_for_a_company(
    submit, client, join_page, chapters, company, individual
):
    response = submit(client, join_page, form_data(join_page, chapters.oslo, company))
    text = visible_text(response)
    assert "Enter the name of the organisation." in text
    assert "Enter the organisation number." in text

    response = submit(
        client,
        join_page,
        form_data(
            join_page, chapters.oslo, individual, organisation_number="not a number"
        ),
    )
    assert response.status_code == 302


def test_bad_organisation_number_is_refused_in_norwegian(
    submit, client, join_page, chapters, company
):
    data = form_data(
        join_page,
        chapters.oslo,
        company,
        organisation_name="Fjord Tools AS",
        organisation_number="974760674",
    )

    response = submit(client, join_page, data, HTTP_ACCEPT_LANGUAGE="nb")

    assert response.status_code == 200
    assert "974760674 er ikke et gyldig organisasjonsnummer for NO." in visible_text(
        response
    )
    assert not Organisation.objects.exists()
    assert not Person.objects.exists()


def test_gift_must_be_a_positive_amount_in_ore(
    submit, client, join_page, chapters, individual
):
    for amount, message in (
        ("-5", "The gift cannot be negative."),
        ("10.005", "at most 2 decimals"),
    ):
        response = submit(
            client,
            join_page,
            form_data(join_page, chapters.oslo, individual, gift_amount=amount),
        )
        assert response.status_code == 200
        assert message in visible_text(response)
    assert not Application.objects.exists()


def test_referral_link_records_the_recruiter(
    submit, client, join_page, chapters, individual
):
    recruiter = PersonFactory(member_number=4711)
    Membership.objects.create(
        person=recruiter,
        type=individual,
        chapter=chapters.oslo,
        start=date(2024, 1, 1),
        status=Membership.Status.ACTIVE,
    )
    DiscountRule.objects.create(
        type=individual,
        name="Recruited by a friend",
        condition=DiscountRule.Condition.RECRUITED,
        amount=Decimal("100.00"),
    )

    page = client.get(join_page.url, {"ref": "4711", "chapter": chapters.oslo.pk})
    html = soup(page)
    assert html.find("input", attrs={"name": "ref"})["value"] == "4711"
    price = html.find(id=f"id_type_{individual.pk}_price").get_text()
    assert "Recruited by a friend" in price and "300.00" in price

    submit(
        client, join_page, form_data(join_page, chapters.oslo, individual, ref="4711")
    )

    application = Application.objects.get(email="kari@example.org")
    assert application.recruited_by == recruiter
    assert application.membership.recruited_by == recruiter
    assert application.referral_code == "4711"


def test_signed_in_member_joins_as_themselves(
    submit, client, join_page, chapters, individual
):
    user = UserFactory(email="ola@example.org")
    person = PersonFactory(first_name="Ola", email="ola@example.org", user=user)
    client.force_login(user)

    page = client.get(join_page.url)
    assert soup(page).find("input", attrs={"name": "email"})["value"] == (
        "ola@example.org"
    )
    response = submit(
        client,
        join_page,
        form_data(
            join_page,
            chapters.oslo,
            individual,
            first_name="Ola",
            email="ola@example.org",
        ),
    )

    assert response.status_code == 302
    assert Person.objects.count() == 1
    assert Application.objects.get().person == person


def test_type_that_needs_approval_waits_for_staff(
    submit, client, join_page, chapters, individual
):
    individual.requires_approval = True
    individual.save()

    response = submit(
        client, join_page, form_data(join_page, chapters.oslo, individual)
    )

    application = Application.objects.get()
    assert application.status == Application.Status.AWAITING_APPROVAL
    assert response["Location"] == reverse(
        "members:join_done", kwargs={"uuid": application.uuid}
    )
    done = client.get(response["Location"])
    assert "We will let you know" in visible_text(done)


# --- After paying ----------------------------------------------------------------------


def _paid(application):
    application.refresh_from_db()
    payment = billing.payment_create(order=application.order, provider="sandbox")
    billing.payment_confirm(payment=payment, raw={"test": True})
    application.refresh_from_db()
    return application


def _members_page(home_page, join_page):
    members = add_page(home_page, StandardPage, title="For members")
    join_page.members_page = members
    join_page.save_revision().publish()
    return members


def test_done_page_signs_in_only_the_browser_that_applied(
    submit, client, client_factory, home_page, join_page, chapters, individual
):
    members = _members_page(home_page, join_page)
    submit(client, join_page, form_data(join_page, chapters.oslo, individual))
    application = Application.objects.get()
    done = reverse("members:join_done", kwargs={"uuid": application.uuid})

    waiting = client.get(done)
    assert "We are waiting for your payment" in visible_text(waiting)
    assert "_auth_user_id" not in client.session

    application = _paid(application)
    assert application.status == Application.Status.COMPLETED
    user = application.person.user
    assert user is not None

    # Another browser with the link sees a neutral page and is not signed in.
    stranger = client_factory()
    neutral = stranger.get(done)
    assert neutral.status_code == 200
    assert "Kari" not in visible_text(neutral)
    assert "kari@example.org" not in neutral.content.decode()
    assert "_auth_user_id" not in stranger.session

    # The browser that applied is signed in, once, and sent to the members page.
    response = client.get(done)
    assert response.status_code == 302
    assert response["Location"] == members.url
    assert client.session["_auth_user_id"] == str(user.pk)

    # Signed out, the same link signs nobody in again.
    client.logout()
    again = client.get(done)
    assert again.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Kari" not in visible_text(again)


def test_done_page_without_a_members_page_welcomes(
    submit, client, join_page, chapters, individual
):
    submit(client, join_page, form_data(join_page, chapters.oslo, individual))
    application = _paid(Application.objects.get())

    response = client.get(
        reverse("members:join_done", kwargs={"uuid": application.uuid})
    )

    assert response.status_code == 200
    assert "Welcome, you are now a member!" in visible_text(response)
    assert client.session["_auth_user_id"] == str(application.person.user.pk)


def test_unknown_application_is_a_friendly_404(client, db):
    response = client.get(
        reverse(
            "members:join_done", kwargs={"uuid": "00000000-0000-0000-0000-000000000000"}
        )
    )
    assert response.status_code == 404
    assert "Application not found" in visible_text(response)


# --- Ending a membership ---------------------------------------------------------------


def test_cancel_link_ends_the_membership_at_the_end_of_its_period(
    submit, client, join_page, chapters, individual
):
    submit(client, join_page, form_data(join_page, chapters.oslo, individual))
    application = _paid(Application.objects.get())
    membership = application.membership
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE
    url = reverse(
        "members:membership_cancel",
        kwargs={"token": dues.membership_cancel_token(membership)},
    )

    page = client_get_text(client, url)
    assert "Individual" in page and "Kari Nordmann" in page
    end = date_format(membership.end, "DATE_FORMAT")
    assert end in page

    response = client.post(url)

    assert response.status_code == 200
    assert f"Your membership ends on {end}." in visible_text(response)
    membership.refresh_from_db()
    assert membership.cancel_requested_at is not None
    assert membership.status == Membership.Status.ACTIVE
    assert "already ends on" in client_get_text(client, url)


def test_forged_cancel_link_is_a_friendly_404(client, db):
    response = client.get(
        reverse("members:membership_cancel", kwargs={"token": "12:forged"})
    )
    assert response.status_code == 404
    assert "This link does not work" in visible_text(response)


def client_get_text(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return visible_text(response)


def test_showing_a_chapters_prices_without_a_script_stores_nothing(
    client, join_page, chapters, individual
):
    data = form_data(join_page, chapters.oslo, individual, refresh="1")

    response = client.post(join_page.url, data)

    assert response.status_code == 200
    html = soup(response)
    price = html.find(id=f"id_type_{individual.pk}_price").get_text()
    assert "400.00" in price
    # Nothing was checked or stored, and what was typed is still there.
    assert "Please correct" not in visible_text(response)
    assert html.find("input", attrs={"name": "first_name"})["value"] == "Kari"
    assert html.find("input", attrs={"id": f"id_type_{individual.pk}"}).has_attr(
        "checked"
    )
    assert not Person.objects.exists()


def test_page_has_no_inline_script(client, join_page):
    """The site's CSP allows scripts from files only."""
    html = soup(client.get(join_page.url))
    scripts = html.find_all("script")
    assert scripts
    assert all(script.get("src") and not script.string for script in scripts)
    assert any(script["src"].endswith("members/join.js") for script in scripts)


def test_rejected_application_says_so(submit, client, join_page, chapters, individual):
    individual.requires_approval = True
    individual.save()
    submit(client, join_page, form_data(join_page, chapters.oslo, individual))
    application = Application.objects.get()
    applications.application_reject(
        application=application, reason="Not eligible.", by=None
    )

    response = client.get(
        reverse("members:join_done", kwargs={"uuid": application.uuid})
    )

    assert "Your application was not accepted" in visible_text(response)
    assert "_auth_user_id" not in client.session


def test_the_join_page_issues_as_many_queries_with_more_types_and_rules(
    client, join_page, chapters
):
    """The types, their chapter fees and discount rules load in a fixed number of
    queries, however many an association offers."""

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(join_page.url, {"chapter": chapters.oslo.pk})
        assert response.status_code == 200
        return len(queries)

    queries_for_page()  # the first view of a site also stores its settings
    before = queries_for_page()
    for number in range(4):
        extra = MembershipTypeFactory(name=f"Extra {number}", fee=Decimal("100.00"))
        MembershipPrice.objects.create(
            type=extra, chapter=chapters.east, fee=Decimal("90.00")
        )
        DiscountRule.objects.create(
            type=extra,
            name=f"Youth {number}",
            condition=DiscountRule.Condition.AGE_UNDER,
            value=26,
            percent=Decimal("50"),
        )
    after = queries_for_page()
    assert "Extra 3" in client.get(join_page.url).content.decode()
    assert after == before
