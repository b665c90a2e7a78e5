"""A visitor's journeys through the public site, as seen in a real browser."""

import re
import time

import pytest
from playwright.sync_api import expect
from wagtail.contrib.forms.models import FormSubmission

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = {"width": 390, "height": 844}


def wait_for_mail(outbox, count, timeout=5.0):
    """The server thread sends mail once the submission is committed; give it a moment."""
    deadline = time.monotonic() + timeout
    while len(outbox) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return outbox


def test_visitor_reads_the_latest_news(page, site_content):
    page.goto("/")

    expect(
        page.get_by_role("heading", level=1, name="Welcome to the Test Association")
    ).to_be_visible()
    expect(page.get_by_text("We bring people together.")).to_be_visible()

    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link")).to_have_text(
        ["Home", "About us", "News", "Contact us"]
    )
    expect(menu.get_by_role("link", name="Home")).to_have_attribute(
        "aria-current", "page"
    )

    latest = page.get_by_role("region", name="Latest news")
    expect(latest.get_by_role("heading", level=2, name="Latest news")).to_be_visible()
    cards = latest.get_by_role("article")
    expect(cards).to_have_count(2)
    # Newest first, each with its date and lead.
    expect(cards.get_by_role("heading", level=3)).to_have_text(
        ["Summer party announced", "Annual meeting held"]
    )
    expect(cards.first).to_contain_text("Join us in June.")
    expect(cards.first.locator("time")).to_have_attribute("datetime", "2024-05-02")

    menu.get_by_role("link", name="News").click()
    expect(page).to_have_url(re.compile(r"/news/$"))
    expect(page.get_by_role("heading", level=1, name="News")).to_be_visible()
    expect(menu.get_by_role("link", name="News")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_role("main").get_by_role("article")).to_have_count(2)

    page.get_by_role("link", name="Annual meeting held").click()
    expect(page).to_have_url(re.compile(r"/news/annual-meeting-held/$"))
    expect(
        page.get_by_role("heading", level=1, name="Annual meeting held")
    ).to_be_visible()
    date = page.get_by_role("main").locator("time")
    expect(date).to_be_visible()
    expect(date).to_have_attribute("datetime", "2024-03-14")
    expect(date).to_have_text(re.compile(r"\b14\b.*2024|2024.*\b14\b"))
    expect(page.get_by_text("The members met and elected a new board.")).to_be_visible()
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumb.get_by_role("link", name="News")).to_be_visible()
    # The menu shows which section the visitor is in.
    expect(menu.get_by_role("link", name="News")).to_have_class(
        re.compile(r"\bis-active\b")
    )


def test_visitor_sends_the_contact_form(page, site_content, mailoutbox):
    page.goto("/")
    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Contact us"
    ).click()
    expect(page.get_by_role("heading", level=1, name="Contact us")).to_be_visible()

    # Sending it empty: every field says what is missing and nothing is kept or sent.
    send = page.get_by_role("button", name="Send")
    send.click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Please correct the fields marked below."
    )
    expect(page.get_by_text("This field is required.")).to_have_count(3)
    assert FormSubmission.objects.count() == 0
    assert len(mailoutbox) == 0

    page.get_by_label("Your name").fill("Kari Nordmann")
    page.get_by_label("E-mail").fill("kari@example.net")
    page.get_by_label("Message").fill("Can my choir rent the hall on Saturday?")
    page.get_by_role("button", name="Send").click()

    expect(
        page.get_by_text("Thanks for writing to us. We will answer soon.")
    ).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    assert FormSubmission.objects.filter(page=site_content.contact).count() == 1

    wait_for_mail(mailoutbox, 1)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["staff@example.org"]
    assert message.subject == "New inquiry"
    assert message.reply_to == ["kari@example.net"]
    assert "Can my choir rent the hall on Saturday?" in message.body
    assert "Kari Nordmann" in message.body


def test_keyboard_user_skips_to_main_content(page, site_content):
    page.goto("/")

    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Main menu")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("contentinfo")).to_have_count(1)

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.get_by_role("main")).to_be_focused()
    # The next Tab continues from the main content, past the header.
    page.keyboard.press("Tab")
    expect(page.get_by_role("main").locator("*:focus")).to_have_count(1)


def test_phone_visitor_opens_the_menu(page, site_content):
    page.set_viewport_size(PHONE)
    page.goto("/")

    menu_button = page.get_by_role("button", name="Menu")
    menu_link = page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="About us"
    )
    expect(menu_button).to_be_visible()
    expect(menu_button).to_have_attribute("aria-expanded", "false")
    expect(menu_link).to_be_hidden()

    menu_button.click()
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    expect(menu_link).to_be_visible()

    menu_button.click()
    expect(menu_button).to_have_attribute("aria-expanded", "false")
    expect(menu_link).to_be_hidden()

    for path in ["/", "/news/", "/news/annual-meeting-held/", "/contact/"]:
        page.goto(path)
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"


def test_visitor_switches_to_norwegian(page, site_content):
    page.goto("/news/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    norwegian = page.locator("button[name=language][value=nb]")
    expect(norwegian).to_have_text(re.compile(r"norsk.*bokmål", re.IGNORECASE))
    norwegian.click()

    expect(page.locator("html")).to_have_attribute("lang", "nb")
    # Back on the page the visitor was reading, with the choice marked as current.
    expect(page).to_have_url(re.compile(r"/news/$"))
    expect(page.locator("button[name=language][value=nb]")).to_have_attribute(
        "aria-current", "true"
    )
