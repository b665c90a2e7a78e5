"""Browser journeys: a live server and Debian's chromium driven by Playwright.

Browser tests skip with a reason when /usr/bin/chromium is missing, except under CI
(CI=true), where a missing browser fails the run.
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("GUILDHALL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        message = f"No chromium at {CHROMIUM}: install Debian's 'chromium' package."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def site_content(transactional_db):
    """A small public site: home page, an About page, news index with two items, contact form."""
    import datetime

    from tests.factories import (
        NewsIndexPage,
        NewsPage,
        StandardPage,
        add_contact_form,
        add_page,
        make_site_root,
    )

    home = make_site_root(
        hero_title="Welcome to the Test Association",
        hero_text="We bring people together.",
    )
    about = add_page(home, StandardPage, title="About us", show_in_menus=True)
    news = add_page(home, NewsIndexPage, title="News", show_in_menus=True)
    older = add_page(
        news,
        NewsPage,
        title="Annual meeting held",
        date=datetime.date(2024, 3, 14),
        intro="The members met and elected a new board.",
    )
    newer = add_page(
        news,
        NewsPage,
        title="Summer party announced",
        date=datetime.date(2024, 5, 2),
        intro="Join us in June.",
    )
    contact = add_contact_form(
        home,
        to_address="staff@example.org",
        show_in_menus=True,
        thank_you_text="<p>Thanks for writing to us. We will answer soon.</p>",
    )
    return {
        "home": home,
        "about": about,
        "news": news,
        "news_items": [newer, older],
        "contact": contact,
    }
