"""Browser journeys: a live server and Debian's chromium driven by Playwright.

Browser tests skip with a reason when /usr/bin/chromium is missing, except under CI
(CI=true), where a missing browser fails the run.

The live server reads the test database from another thread, so journeys use
``@pytest.mark.django_db(transaction=True, serialized_rollback=True)``. A transactional
test ends by emptying every table, so the data the migrations made (Wagtail's root page,
default site, locale, root collection) must be put back before the next one:
``_migrated_data_in_place`` makes sure it is. (``serialized_rollback=True`` makes Django
keep a copy of that data when it creates the test database; plain ``transaction=True``
works too, as long as no other transactional test emptied the database first.)

Why Django's own serialized rollback is not enough here: while Playwright's sync API is
running, this thread counts as running an asyncio loop (Playwright marks it so between
calls), and Django then keeps a separate database connection for it (asgiref's
thread-critical Local acts as a context variable). That connection never got the
serialized copy made when the test database was created, on the first connection.
"""

import datetime
import os
import shutil
from types import SimpleNamespace

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
            # WhiteNoise warns that STATIC_ROOT was never collected; the live server
            # serves static files from the finders instead.
            item.add_marker(
                pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
            )


@pytest.fixture(scope="session")
def migrated_data(django_db_setup, django_db_blocker):
    """The test database as the migrations left it, serialized.

    Django serializes it when the database is created if any collected test asks for
    serialized rollback; taken here before Playwright starts, so from that connection.
    """
    from django.db import connection

    contents = getattr(connection, "_test_serialized_contents", None)
    if contents is None:
        with django_db_blocker.unblock():
            contents = connection.creation.serialize_db_to_string()
    return contents


@pytest.fixture(autouse=True)
def _migrated_data_in_place(request):
    """Before each transactional browser test: the migrations' data, as after migrate."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if not transactional and "transactional_db" not in request.fixturenames:
        return
    contents = request.getfixturevalue("migrated_data")

    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection
    from wagtail.models import Page

    if not Page.objects.filter(depth=1).exists():
        # Empty the tables again: the flush after the last test made content types and
        # permissions anew, maybe with other ids than the restored rows refer to.
        call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
        connection.creation.deserialize_db_from_string(contents)
        # flush restarts PostgreSQL's sequences; move them past the restored rows, as
        # loaddata does, so the next page does not get the root page's id.
        statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        # Content types made again by the flush may have had other ids: forget them.
        ContentType.objects.clear_cache()
    assert Page.objects.filter(depth=1).exists(), "No Wagtail root page after restore"


@pytest.fixture(scope="session")
def browser(migrated_data):
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
def new_page(browser, live_server):
    """Open a page in a fresh browser context (own cookies): a second person or device."""
    contexts = []

    def open_page(**options):
        options.setdefault("locale", "en-GB")
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def site_content(transactional_db):
    """A small public site: home, About us, News with two items and a contact form."""
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
    return SimpleNamespace(
        home=home, about=about, news=news, news_items=[newer, older], contact=contact
    )
