"""Joining in a real browser: a visitor joins and pays through the sandbox and lands
signed in on the members' pages; a visitor who pays by invoice becomes a member when
the bank file with the payment is imported; a company joins and its contact person
gets access."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect
from wagtail.models import PageViewRestriction

from members.models import (
    Application,
    JoinConsent,
    JoinPage,
    Membership,
    MembershipPrice,
    MembershipType,
)
from shop.bankfiles import bank_file_import
from shop.models import Invoice, Order
from tests.factories import StandardPage, add_page, make_site_root
from tests.members.factories import MembershipTypeFactory, make_chapter_tree
from tests.shop.factories import configure_seller
from tests.shop.test_bankfiles import ocr_file
from tests.shop.test_pdf import pdf_text

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CONSENT = "I accept the statutes of the association."
SECRET = "The members' handbook is in the drawer."


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.fixture
def association(transactional_db):
    """A site with a join page offering an individual and a company membership, each
    granting the "Members" group, whose members see the members-only page."""
    configure_seller()
    chapters = make_chapter_tree()
    members = Group.objects.create(name="Members")
    individual = MembershipTypeFactory(
        name="Individual",
        fee=Decimal("500.00"),
        description="Everything the association offers.",
        groups=[members],
    )
    MembershipPrice.objects.create(
        type=individual, chapter=chapters.east, fee=Decimal("350.00")
    )
    company = MembershipTypeFactory(
        name="Company",
        kind=MembershipType.Kind.ORGANISATION,
        fee=Decimal("3000.00"),
        groups=[members],
    )
    home = make_site_root(hero_title="Welcome to the Test Association")
    members_page = add_page(
        home, StandardPage, title="Members area", intro=SECRET, show_in_menus=False
    )
    restriction = PageViewRestriction.objects.create(
        page=members_page, restriction_type=PageViewRestriction.GROUPS
    )
    restriction.groups.set([members])
    join = JoinPage(
        title="Join us",
        slug="join",
        ask_phone=True,
        ask_address=True,
        members_page=members_page,
    )
    join.consents = [JoinConsent(text=CONSENT, required=True, sort_order=0)]
    home.add_child(instance=join)
    join.save_revision().publish()
    return {
        "chapters": chapters,
        "individual": individual,
        "company": company,
        "join": join,
        "members_page": members_page,
    }


def fill_person(page, *, email, first="Kari", last="Nordmann"):
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label(re.compile(r"^E-mail( \*)?$")).fill(email)
    page.get_by_label("Phone").fill("+47 900 00 000")
    page.get_by_label("Street address").fill("Storgata 1")
    page.get_by_label("Postcode").fill("0155")
    page.get_by_label("City").fill("Oslo")
    page.get_by_label(CONSENT).check()


def test_visitor_joins_pays_in_the_sandbox_and_lands_signed_in(
    page, association, mailoutbox
):
    members_page = association["members_page"]
    console = []
    page.on("console", lambda message: console.append(message.text))
    # Not a member yet: the members' page is closed.
    page.goto(members_page.url)
    expect(page.get_by_text(SECRET)).not_to_be_visible()

    page.goto(association["join"].url)
    expect(page.get_by_role("heading", level=1, name="Join us")).to_be_visible()
    # Choosing a chapter shows its own price.
    individual = page.locator(f"#id_type_{association['individual'].pk}_price")
    expect(individual).to_contain_text("500.00 NOK")
    page.get_by_label("Chapter").select_option(label="Oslo")
    expect(individual).to_contain_text("350.00 NOK")
    # The company's fields are hidden until a company type is chosen.
    page.get_by_role("radio", name=re.compile("Individual")).check()
    expect(page.get_by_label("Organisation name")).to_be_hidden()
    fill_person(page, email="kari@example.org")
    assert not [text for text in console if "Content Security Policy" in text]
    page.get_by_role("button", name="Send the application").click()

    expect(
        page.get_by_role("heading", level=1, name=re.compile("Order"))
    ).to_be_visible()
    page.get_by_label("Test payment (sandbox)").check()
    page.get_by_role("button", name="Pay 350.00 NOK").click()
    expect(page.get_by_text("TEST ONLY — no money moves.")).to_be_visible()
    page.get_by_role("button", name="Approve the payment").click()

    # Back on the members' page, signed in, with access.
    expect(page.get_by_role("heading", level=1, name="Members area")).to_be_visible()
    expect(page.get_by_text(SECRET)).to_be_visible()
    application = Application.objects.get()
    assert application.status == Application.Status.COMPLETED
    assert application.membership.status == Membership.Status.ACTIVE
    assert application.person.user.groups.filter(name="Members").exists()
    assert wait_for(lambda: any("Welcome" in m.subject for m in mailoutbox))
    welcome = next(m for m in mailoutbox if "Welcome" in m.subject)
    assert welcome.to == ["kari@example.org"]
    assert "/account/link/" in welcome.body


def test_visitor_pays_by_invoice_and_becomes_a_member_when_the_bank_pays(
    page, association, mailoutbox
):
    page.goto(association["join"].url)
    page.get_by_label("Chapter").select_option(label="Bergen")
    page.get_by_role("radio", name=re.compile("Individual")).check()
    fill_person(page, email="ola@example.org", first="Ola")
    page.get_by_role("button", name="Send the application").click()

    page.get_by_label("Invoice").check()
    page.get_by_role("button", name="Pay 500.00 NOK").click()
    application = Application.objects.get()
    invoice = Invoice.objects.get(order=application.order)
    expect(page.locator(".kid")).to_have_text(invoice.kid)

    href = page.get_by_role("link", name="Download the invoice (PDF)").get_attribute(
        "href"
    )
    response = page.request.get(href)
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body())
    assert invoice.kid in text and "500.00" in text

    # Until the bank pays, the membership waits.
    application.refresh_from_db()
    assert application.status == Application.Status.AWAITING_PAYMENT
    assert application.membership.status == Membership.Status.PENDING_PAYMENT
    done = f"/members/join/done/{application.uuid}/"
    page.goto(done)
    expect(page.get_by_text("We have sent you an invoice.")).to_be_visible()

    result = bank_file_import(
        filename="ocr.txt", content=ocr_file([(invoice.kid, "500.00")])
    )
    assert result.booked == 1

    application.refresh_from_db()
    assert application.status == Application.Status.COMPLETED
    assert application.order.status == Order.Status.PAID
    membership = Membership.objects.get(pk=application.membership_id)
    assert membership.status == Membership.Status.ACTIVE
    assert wait_for(lambda: any("Welcome" in m.subject for m in mailoutbox))
    welcome = next(m for m in mailoutbox if "Welcome" in m.subject)
    assert welcome.to == ["ola@example.org"]

    # The browser that applied is signed in on its next visit to the done page.
    page.goto(done)
    expect(page.get_by_role("heading", level=1, name="Members area")).to_be_visible()
    expect(page.get_by_text(SECRET)).to_be_visible()


def test_company_joins_and_its_contact_person_gets_access(
    page, association, mailoutbox
):
    join = association["join"]
    join.default_chapter = association["chapters"].national
    join.save_revision().publish()

    page.goto(join.url)
    page.get_by_role("radio", name=re.compile("Company")).check()
    expect(page.get_by_label("Organisation name")).to_be_visible()
    expect(page.get_by_text("Contact person", exact=True)).to_be_visible()
    page.get_by_label("Organisation name").fill("Fjord Tools AS")
    page.get_by_label("Organisation number").fill("974760673")
    page.get_by_label("Organisation e-mail").fill("post@fjordtools.example")
    fill_person(page, email="per@fjordtools.example", first="Per")
    page.get_by_role("button", name="Send the application").click()

    page.get_by_label("Test payment (sandbox)").check()
    page.get_by_role("button", name="Pay 3000.00 NOK").click()
    page.get_by_role("button", name="Approve the payment").click()

    expect(page.get_by_role("heading", level=1, name="Members area")).to_be_visible()
    expect(page.get_by_text(SECRET)).to_be_visible()
    application = Application.objects.select_related("organisation").get()
    assert application.organisation.name == "Fjord Tools AS"
    membership = application.membership
    assert membership.organisation == application.organisation
    assert membership.status == Membership.Status.ACTIVE
    assert application.person.user.email == "per@fjordtools.example"
