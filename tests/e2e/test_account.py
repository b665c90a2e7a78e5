"""My Account in a real browser: a member changes their address (applied at once, in
the history) and their name (held until a membership officer approves it in the
queue), pays an outstanding invoice through the sandbox, disputes an invoice and reads
the accounts clerk's answer; an organisation's contact adds a colleague, who then
signs in with an e-mailed link and sees the members' page through the organisation's
membership."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect
from wagtail.models import PageViewRestriction

from members.models import ChangeRequest, Employment, MembershipType, Person
from members.services import membership_activate
from shop import billing
from shop.models import Invoice, InvoiceComment, Order
from tests.factories import (
    TEST_PASSWORD,
    StandardPage,
    UserFactory,
    add_page,
    make_site_root,
    totp_token,
)
from tests.members.admin_helpers import staff_in
from tests.members.factories import (
    EmploymentFactory,
    MembershipFactory,
    MembershipTypeFactory,
    OrganisationFactory,
    PersonFactory,
)
from tests.shop.factories import configure_seller, make_order

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SECRET = "The members' handbook is in the drawer."
MY_ACCOUNT = "/account/my-account/"


# Data -------------------------------------------------------------------------------


@pytest.fixture
def site(transactional_db):
    configure_seller()
    return make_site_root(hero_title="Welcome to the Test Association")


@pytest.fixture
def kari(site):
    """A member who signs in with her password; her postal address is in Oslo."""
    user = UserFactory(
        email="kari@example.org", first_name="Kari", last_name="Nordmann"
    )
    return PersonFactory(
        user=user,
        first_name="Kari",
        last_name="Nordmann",
        email="kari@example.org",
        preferred_language="en",
        postal_street="Storgata 1",
        postal_postcode="0155",
        postal_city="Oslo",
    )


def invoiced_order(person: Person, amount: str = "450.00") -> tuple[Order, Invoice]:
    order = make_order(
        amount=amount,
        customer=person,
        customer_name=person.full_name,
        customer_email=person.email,
    )
    return order, billing.invoice_issue(order=order)


def staff_with_authenticator(group_name: str, **fields):
    """A staff user in one of the pre-made roles, with an authenticator set up."""
    user = staff_in(group_name, **fields)
    TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    return user


# Signing in -------------------------------------------------------------------------


def member_signs_in(page, email: str) -> None:
    page.goto("/account/sign-in/")
    form = page.get_by_role("region", name="Sign in with your password")
    form.get_by_label("E-mail address").fill(email)
    form.get_by_label("Password").fill(TEST_PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/my-account/$"))


def staff_signs_in(page, user) -> None:
    """The admin's sign-in page, then the code from the authenticator app."""
    page.goto("/admin/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(totp_token(user.totpdevice_set.get()))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def open_admin_menu(page, group: str, item: str) -> None:
    sidebar = page.get_by_role("complementary", name="Sidebar")
    sidebar.get_by_role("button", name=group).click()
    sidebar.get_by_role("link", name=item, exact=True).click()


def account_nav(page):
    return page.get_by_role("navigation", name="My Account")


# Journeys ---------------------------------------------------------------------------


def test_member_changes_the_address_applied_at_once_and_in_the_history(page, kari):
    member_signs_in(page, "kari@example.org")
    expect(page.get_by_role("heading", level=1, name="Welcome, Kari")).to_be_visible()

    account_nav(page).get_by_role("link", name="Your details").click()
    expect(page.get_by_role("heading", level=1, name="Your details")).to_be_visible()
    expect(page.get_by_label("Postal address")).to_have_value("Storgata 1")
    page.get_by_label("Postal address").fill("Kongens gate 5")
    page.get_by_label("Postcode", exact=True).fill("7011")
    page.get_by_label("City", exact=True).fill("Trondheim")
    page.get_by_role("button", name="Save").click()

    # Applied at once: no approval, the form shows the new address.
    expect(page.get_by_text("Your details are saved.")).to_be_visible()
    expect(page.get_by_label("Postal address")).to_have_value("Kongens gate 5")
    expect(page.get_by_label("Postcode", exact=True)).to_have_value("7011")
    expect(page.get_by_label("City", exact=True)).to_have_value("Trondheim")
    expect(page.get_by_role("heading", name="Waiting for approval")).to_have_count(0)

    # The history on the same page: old → new, made by the member.
    history = page.get_by_role("table", name="Latest changes")
    street = history.get_by_role("row").filter(has_text="Postal address")
    expect(street).to_have_count(1)
    expect(street).to_contain_text("Storgata 1 → Kongens gate 5")
    expect(street.get_by_role("cell").last).to_have_text("you")
    city = history.get_by_role("row").filter(has_text="City")
    expect(city).to_contain_text("Oslo → Trondheim")
    expect(city.get_by_role("cell").last).to_have_text("you")

    kari.refresh_from_db()
    assert (kari.postal_street, kari.postal_postcode, kari.postal_city) == (
        "Kongens gate 5",
        "7011",
        "Trondheim",
    )
    latest = kari.history.latest()
    assert latest.history_user == kari.user
    assert not ChangeRequest.objects.exists()


def test_name_change_waits_for_the_officer_then_applies(page, new_page, kari):
    officer = staff_with_authenticator(
        "Membership officers",
        email="officer@example.org",
        first_name="Olav",
        last_name="Officer",
    )
    member_signs_in(page, "kari@example.org")
    account_nav(page).get_by_role("link", name="Your details").click()
    page.get_by_label("Last name").fill("Berg")
    page.get_by_role("button", name="Save").click()

    # Held: the page says so, shows it pending, and the name is as it was.
    expect(
        page.get_by_text(
            "Your change is waiting for approval. We e-mail you when it is decided."
        )
    ).to_be_visible()
    pending = page.get_by_role("region", name="Waiting for approval")
    expect(pending.get_by_role("listitem")).to_have_count(1)
    expect(pending).to_contain_text(re.compile(r"last name → Berg", re.I))
    facts = page.locator(".membership__facts")
    expect(facts).to_contain_text("Kari Nordmann")
    expect(page.get_by_label("Last name")).to_have_value("Nordmann")
    kari.refresh_from_db()
    assert kari.last_name == "Nordmann"

    # The membership officer finds it in Register → Change requests.
    admin = new_page()
    staff_signs_in(admin, officer)
    open_admin_menu(admin, "Register", "Change requests")
    expect(
        admin.get_by_role("heading", level=1, name="Change requests")
    ).to_be_visible()
    table = admin.get_by_role("table")
    headers = table.get_by_role("columnheader")
    expect(headers.filter(has_text="Old value")).to_have_count(1)
    expect(headers.filter(has_text="New value")).to_have_count(1)
    row = table.get_by_role("row").filter(has_text="Kari Nordmann")
    expect(row).to_have_count(1)
    cells = row.get_by_role("cell")
    texts = [text.strip() for text in cells.all_inner_texts()]
    assert "Last name" in texts
    # Old and new side by side, in that order.
    assert texts.index("Nordmann") + 1 == texts.index("Berg"), texts
    row.get_by_role("checkbox").check()
    admin.get_by_role("button", name="Approve selected").click()
    expect(admin.get_by_text("1 change approved and applied.")).to_be_visible()

    # Back in My Account: the new name, nothing pending, the change in the history.
    page.reload()
    expect(facts).to_contain_text("Kari Berg")
    expect(page.get_by_role("region", name="Waiting for approval")).to_have_count(0)
    expect(page.get_by_label("Last name")).to_have_value("Berg")
    row = (
        page.get_by_role("table", name="Latest changes")
        .get_by_role("row")
        .filter(has_text="Last name")
    )
    expect(row).to_contain_text("Nordmann → Berg")
    expect(row.get_by_role("cell").last).to_have_text("us")
    kari.refresh_from_db()
    assert kari.last_name == "Berg"
    assert kari.history.latest().history_user == officer


def test_member_pays_an_outstanding_invoice_through_the_sandbox(page, kari):
    order, invoice = invoiced_order(kari, "450.00")

    member_signs_in(page, "kari@example.org")
    expect(page.locator(".outstanding")).to_contain_text(
        "You have 1 order to pay: 450.00 NOK"
    )
    account_nav(page).get_by_role("link", name="Orders and invoices").click()
    card = page.get_by_role("region", name=f"Order {order.code}")
    expect(card).to_contain_text("To pay: 450.00 NOK")
    expect(card.get_by_role("listitem")).to_contain_text(invoice.display_number)
    expect(card.get_by_role("listitem")).to_contain_text("Open")
    # The card's title link does not cover the card's other links.
    card.get_by_role("link", name=f"PDF of {invoice.display_number}").click(trial=True)
    card.get_by_role("link", name="Pay").click()

    expect(
        page.get_by_role("heading", level=1, name=f"Order {order.code}")
    ).to_be_visible()
    page.get_by_label("Test payment (sandbox)").check()
    page.get_by_role("button", name="Pay 450.00 NOK").click()
    expect(page.get_by_text("TEST ONLY — no money moves.")).to_be_visible()
    page.get_by_role("button", name="Approve the payment").click()
    # Paid, the member is back on the order's page in My Account, which says so.
    expect(
        page.get_by_text("Thank you! Your payment has been received.")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/account/my-account/invoices/{order.code}/"))
    payments = page.get_by_role("table").filter(has_text="Method")
    expect(payments.get_by_role("row").nth(1)).to_contain_text("450.00 NOK")
    expect(page.get_by_text("Still to pay:")).to_have_count(0)

    # The overview: nothing left to pay, the invoice is paid.
    page.goto(MY_ACCOUNT)
    expect(page.get_by_text("You have nothing to pay.")).to_be_visible()
    expect(page.locator(".outstanding")).to_have_count(0)
    account_nav(page).get_by_role("link", name="Orders and invoices").click()
    card = page.get_by_role("region", name=f"Order {order.code}")
    expect(card.locator(".order-status")).to_have_text("Paid")
    expect(card.get_by_role("listitem")).to_contain_text(
        re.compile(rf"{re.escape(invoice.display_number)}.*· Paid", re.S)
    )
    expect(card).not_to_contain_text("To pay:")
    expect(card.get_by_role("link", name="Pay", exact=True)).to_have_count(0)
    order.refresh_from_db()
    invoice.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert invoice.status == Invoice.Status.PAID


def test_member_disputes_an_invoice_and_reads_the_clerks_answer(
    page, new_page, kari, mailoutbox
):
    order, invoice = invoiced_order(kari, "450.00")
    clerk = staff_with_authenticator(
        "Accounts clerks",
        email="clerk@example.org",
        first_name="Anne",
        last_name="Clerk",
    )
    dispute = "I paid this in cash at the annual meeting."
    answer = "Thank you, we found your payment and have booked it."

    member_signs_in(page, "kari@example.org")
    account_nav(page).get_by_role("link", name="Orders and invoices").click()
    page.get_by_role("link", name=f"Order {order.code}").click()
    expect(
        page.get_by_role("heading", level=1, name=f"Order {order.code}")
    ).to_be_visible()
    thread = page.get_by_role(
        "region", name=f"Questions about invoice {invoice.display_number}"
    )
    thread.get_by_label("Your message").fill(dispute)
    thread.get_by_label("I think this invoice is wrong").check()
    thread.get_by_role("button", name="Send").click()

    expect(
        page.get_by_text("Thank you. We have your message and will answer soon.")
    ).to_be_visible()
    messages = thread.locator(".thread__message")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text("You wrote")
    expect(messages.first).to_contain_text("disputes the invoice")
    expect(messages.first).to_contain_text(dispute)

    # The accounts clerk: Billing → Disputes, the open one first, then its thread.
    admin = new_page()
    staff_signs_in(admin, clerk)
    open_admin_menu(admin, "Billing", "Disputes")
    expect(admin.get_by_role("heading", level=1, name="Disputes")).to_be_visible()
    row = admin.get_by_role("row").filter(has_text=invoice.display_number)
    expect(row).to_contain_text("Disputed, awaiting answer")
    expect(row).to_contain_text("Kari Nordmann")
    row.get_by_role("link", name=invoice.display_number).click()
    expect(
        admin.get_by_role("heading", level=1, name=f"Invoice {invoice.display_number}")
    ).to_be_visible()
    expect(
        admin.get_by_text(
            "The buyer disputes this invoice. Reminders wait until you answer."
        )
    ).to_be_visible()
    expect(admin.get_by_text(dispute)).to_be_visible()
    admin.get_by_label("Answer").fill(answer)
    admin.get_by_role("button", name="Send answer").click()
    expect(
        admin.get_by_text("Your answer is saved and e-mailed to Kari Nordmann.")
    ).to_be_visible()
    expect(admin.locator(".invoice-comment--staff")).to_contain_text(answer)

    # The member reloads the order page: the answer is in the thread, after hers.
    page.reload()
    expect(messages).to_have_count(2)
    expect(messages.nth(0)).to_contain_text(dispute)
    expect(messages.nth(1)).to_contain_text("Our answer")
    expect(messages.nth(1)).to_contain_text(answer)
    assert list(
        InvoiceComment.objects.filter(invoice=invoice)
        .order_by("created_at", "pk")
        .values_list("from_staff", "disputes")
    ) == [(False, True), (True, False)]
    assert any(
        message.to == ["kari@example.org"] and answer in message.body
        for message in mailoutbox
    )


@pytest.fixture
def company(site):
    """Fjord Tools AS holds an active company membership granting "Members", whose
    members (only) see the members' page; Per is its current contact."""
    members = Group.objects.create(name="Members")
    company_type = MembershipTypeFactory(
        name="Company", kind=MembershipType.Kind.ORGANISATION, groups=[members]
    )
    organisation = OrganisationFactory(name="Fjord Tools AS")
    membership = MembershipFactory(
        person=None,
        organisation=organisation,
        type=company_type,
        start=timezone.localdate(),
    )
    membership_activate(membership=membership, note="Paid")
    user = UserFactory(email="per@fjordtools.example", first_name="Per")
    per = PersonFactory(
        user=user,
        first_name="Per",
        last_name="Hansen",
        email="per@fjordtools.example",
        preferred_language="en",
    )
    EmploymentFactory(person=per, organisation=organisation, is_contact=True)
    members_page = add_page(
        site, StandardPage, title="Members area", intro=SECRET, show_in_menus=False
    )
    restriction = PageViewRestriction.objects.create(
        page=members_page, restriction_type=PageViewRestriction.GROUPS
    )
    restriction.groups.set([members])
    return {
        "organisation": organisation,
        "membership": membership,
        "members_page": members_page,
    }


def test_contact_adds_a_colleague_who_gets_access_through_the_company(
    page, new_page, company, mailoutbox
):
    organisation, members_page = company["organisation"], company["members_page"]
    member_signs_in(page, "per@fjordtools.example")
    account_nav(page).get_by_role("link", name="Your organisation").click()
    expect(page.get_by_role("heading", level=1, name="Fjord Tools AS")).to_be_visible()
    staff = page.get_by_role("region", name="Staff")
    expect(staff.locator(".staff-member")).to_have_count(1)

    add = page.get_by_role("region", name="Add a colleague")
    add.get_by_label("First name").fill("Siri")
    add.get_by_label("Last name").fill("Dahl")
    add.get_by_label("E-mail").fill("siri@fjordtools.example")
    add.get_by_label("Function").fill("Buyer")
    add.get_by_role("button", name="Add").click()

    expect(
        page.get_by_text("Siri Dahl is added to the staff of Fjord Tools AS.")
    ).to_be_visible()
    expect(staff.locator(".staff-member")).to_have_count(2)
    colleague = staff.get_by_role("row").filter(has_text="Siri Dahl")
    expect(colleague).to_contain_text("Buyer")
    expect(colleague).to_contain_text("siri@fjordtools.example")
    siri = Person.objects.get(email="siri@fjordtools.example")
    assert (
        Employment.objects.current()
        .filter(person=siri, organisation=organisation, is_contact=False)
        .exists()
    )
    # Adding registers the person; nothing is e-mailed to them yet.
    assert siri.user_id is None

    # Siri, on her own computer: the members' page sends her to sign in, where she
    # asks for a personal link (she has no password).
    other = new_page()
    other.goto(members_page.url)
    expect(other).to_have_url(re.compile(r"/account/sign-in/\?next="))
    expect(other.get_by_text(SECRET)).to_have_count(0)
    link_form = other.get_by_role("region", name="E-mail me a sign-in link")
    link_form.get_by_label("E-mail address").fill("siri@fjordtools.example")
    link_form.get_by_role("button", name="E-mail me a link").click()
    expect(other).to_have_url(re.compile(r"/account/sign-in/link/sent/$"))

    (mail,) = [m for m in mailoutbox if m.to == ["siri@fjordtools.example"]]
    url = re.search(r"https?://\S+/account/link/\S+", mail.body).group(0)
    link = urlsplit(url)
    other.goto(f"{link.path}?{link.query}")

    # Signed in, she sees the members' page through Fjord Tools' membership.
    expect(other.get_by_role("heading", level=1, name="Members area")).to_be_visible()
    expect(other.get_by_text(SECRET)).to_be_visible()
    siri.refresh_from_db()
    assert siri.user is not None
    assert siri.user.groups.filter(name="Members").exists()
    assert not siri.memberships.exists()  # access is inherited, not her own
