"""What visitors see on the home page, news pages and ordinary content pages."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from wagtail import blocks

from home.blocks import CallToActionBlock
from tests.factories import (
    NewsIndexPage,
    NewsPage,
    StandardPage,
    add_draft,
    add_page,
    make_document,
    make_image,
    make_private,
    soup,
    visible_text,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def news_index(home_page):
    return add_page(home_page, NewsIndexPage, title="News", slug="news")


def add_news(index, title, day, **fields):
    return add_page(index, NewsPage, title=title, date=day, **fields)


# --- Home page -------------------------------------------------------------------------


def test_home_page_shows_the_hero_with_its_button(client, home_page):
    membership = add_page(home_page, StandardPage, title="Membership")
    home_page.hero_text = "Makers, together since 1921."
    home_page.hero_cta_label = "Become a member"
    home_page.hero_cta_page = membership
    home_page.save_revision().publish()

    response = client.get("/")

    assert response.status_code == 200
    html = soup(response)
    assert html.h1.get_text(strip=True) == "Welcome to the Test Association"
    assert "Makers, together since 1921." in visible_text(response)
    button = html.find("a", string=re.compile("Become a member"))
    assert button["href"] == membership.url


def test_home_page_lists_the_three_newest_news_items_newest_first(
    client, home_page, news_index
):
    today = date(2026, 5, 20)
    for days_ago, title in [
        (30, "Oldest"),
        (1, "Newest"),
        (10, "Third"),
        (5, "Second"),
    ]:
        add_news(news_index, title, today - timedelta(days=days_ago))

    response = client.get("/")

    section = soup(response).find(id="latest-news").find_parent("section")
    titles = [h.get_text(strip=True) for h in section.find_all("h3")]
    assert titles == ["Newest", "Second", "Third"]


def test_home_page_leaves_out_private_and_unpublished_news(
    client, home_page, news_index
):
    add_news(news_index, "Public item", date(2026, 5, 1))
    secret = add_news(news_index, "Board minutes", date(2026, 5, 2))
    make_private(secret)
    add_draft(news_index, NewsPage, title="Not ready yet", date=date(2026, 5, 3))

    text = visible_text(client.get("/"))

    assert "Public item" in text
    assert "Board minutes" not in text
    assert "Not ready yet" not in text


def test_home_page_without_news_has_no_news_section(client, home_page):
    response = client.get("/")

    assert response.status_code == 200
    assert soup(response).find(id="latest-news") is None


# --- News ------------------------------------------------------------------------------


def news_titles(response):
    return [
        a.get_text(strip=True) for a in soup(response).select("main .card__title a")
    ]


def test_news_index_shows_ten_a_page_newest_first(client, news_index):
    first_day = date(2026, 1, 1)
    for n in range(12):
        add_news(news_index, f"Item {n:02d}", first_day + timedelta(days=n))

    first = client.get(news_index.url)
    second = client.get(news_index.url, {"page": 2})

    assert news_titles(first) == [f"Item {n:02d}" for n in range(11, 1, -1)]
    assert news_titles(second) == ["Item 01", "Item 00"]
    assert "Page 1 of 2" in visible_text(first)
    assert soup(first).find("a", rel="next")["href"] == "?page=2"
    assert soup(second).find("a", rel="next") is None


@pytest.mark.parametrize(
    ("asked", "shown"), [("abc", "Page 1 of 2"), ("99", "Page 2 of 2")]
)
def test_news_index_copes_with_odd_page_numbers(client, news_index, asked, shown):
    for n in range(11):
        add_news(news_index, f"Item {n:02d}", date(2026, 1, 1) + timedelta(days=n))

    response = client.get(news_index.url, {"page": asked})

    assert response.status_code == 200
    assert shown in visible_text(response)


def test_news_index_ignores_private_and_unpublished_items(client, news_index):
    add_news(news_index, "For everyone", date(2026, 2, 1))
    make_private(add_news(news_index, "Members only", date(2026, 2, 2)))
    add_draft(news_index, NewsPage, title="Draft item", date=date(2026, 2, 3))

    response = client.get(news_index.url)

    assert news_titles(response) == ["For everyone"]


def test_empty_news_index_says_so(client, news_index):
    assert "There is no news yet." in visible_text(client.get(news_index.url))


def test_news_page_shows_its_date_lead_and_body(client, news_index):
    item = add_news(
        news_index,
        "Annual meeting",
        date(2026, 3, 12),
        intro="All members are welcome.",
        body=[
            {"type": "paragraph", "value": "<p>The board presents the accounts.</p>"}
        ],
    )

    response = client.get(item.url)

    assert response.status_code == 200
    html = soup(response)
    assert html.h1.get_text(strip=True) == "Annual meeting"
    assert (
        html.find("time", datetime="2026-03-12").get_text(strip=True)
        == "March 12, 2026"
    )
    text = visible_text(response)
    assert "All members are welcome." in text
    assert "The board presents the accounts." in text
    back = html.find("a", href=news_index.url)
    assert back is not None
    assert "News" in back.get_text()


def test_a_private_news_page_asks_for_the_password(client, news_index):
    item = add_news(
        news_index,
        "Members only",
        date(2026, 2, 2),
        body=[{"type": "paragraph", "value": "<p>The board decided in secret.</p>"}],
    )
    make_private(item)

    response = client.get(item.url)

    assert "The board decided in secret." not in visible_text(response)
    assert soup(response).find("input", attrs={"name": "password"}) is not None

    restriction = item.get_view_restrictions().get()
    response = client.post(
        reverse(
            "wagtailcore_authenticate_with_password", args=[restriction.pk, item.pk]
        ),
        {"password": "members-only", "return_url": item.url},
    )
    assert response.status_code == 302
    assert "The board decided in secret." in visible_text(client.get(item.url))


# --- Standard page and its blocks ------------------------------------------------------


def test_standard_page_shows_every_kind_of_block(client, home_page):
    contact = add_page(home_page, StandardPage, title="Contact")
    photo = make_image("Meeting photo")
    report = make_document("Annual report 2025")
    page = add_page(
        home_page,
        StandardPage,
        title="About us",
        intro="A national association for craftspeople.",
        body=[
            {"type": "heading", "value": {"text": "What we do", "level": "h2"}},
            {"type": "heading", "value": {"text": "Courses", "level": "h3"}},
            {
                "type": "paragraph",
                "value": "<p>We run <b>courses</b> and seminars.</p>",
            },
            {
                "type": "quote",
                "value": {
                    "quote": "The guild gave me a network.",
                    "attribution": "Kari",
                },
            },
            {
                "type": "call_to_action",
                "value": {
                    "title": "Questions?",
                    "text": "We answer within two days.",
                    "button_label": "Write to us",
                    "page": contact.pk,
                    "url": "",
                },
            },
            {"type": "document", "value": {"document": report.pk, "label": ""}},
            {
                "type": "image",
                "value": {
                    "image": {
                        "image": photo.pk,
                        "alt_text": "Members at the annual meeting",
                        "decorative": False,
                    },
                    "caption": "The annual meeting in Bergen.",
                },
            },
        ],
    )

    response = client.get(page.url)

    assert response.status_code == 200
    html = soup(response)
    main = html.find("main")
    assert main.find("h1").get_text(strip=True) == "About us"
    assert "A national association for craftspeople." in visible_text(response)
    assert main.find("h2", string="What we do") is not None
    assert main.find("h3", string="Courses") is not None
    assert main.find("b", string="courses") is not None
    quote = main.find("blockquote")
    assert "The guild gave me a network." in quote.get_text()
    assert "Kari" in quote.find_parent("figure").get_text()

    button = main.find("a", string="Write to us")
    assert button["href"] == contact.url
    assert "Questions?" in button.find_parent("aside").get_text()

    document_link = main.find("a", string=re.compile("Annual report 2025"))
    assert document_link["href"] == report.url
    assert "PDF" in document_link.find_parent("p").get_text()

    image = main.find("img", alt="Members at the annual meeting")
    assert image is not None
    assert image["src"]
    caption = image.find_parent("figure").find("figcaption")
    assert caption.get_text(strip=True) == "The annual meeting in Bergen."


def test_call_to_action_can_link_to_an_address(client, home_page):
    page = add_page(
        home_page,
        StandardPage,
        title="Join",
        body=[
            {
                "type": "call_to_action",
                "value": {
                    "title": "Join today",
                    "button_label": "Sign up",
                    "page": None,
                    "url": "https://join.example.org/",
                },
            }
        ],
    )

    button = soup(client.get(page.url)).find("a", string="Sign up")

    assert button["href"] == "https://join.example.org/"


def test_call_to_action_without_a_target_is_refused_with_a_message():
    block = CallToActionBlock()
    value = block.to_python(
        {"title": "Join", "text": "", "button_label": "Go", "page": None, "url": ""}
    )

    with pytest.raises(blocks.StructBlockValidationError) as caught:
        block.clean(value)

    messages = caught.value.block_errors["page"].messages
    assert messages == ["Choose a page or enter an address for the button."]


def test_call_to_action_with_a_page_is_valid(home_page):
    block = CallToActionBlock()
    value = block.to_python(
        {
            "title": "Join",
            "text": "",
            "button_label": "Go",
            "page": home_page.pk,
            "url": "",
        }
    )

    assert block.clean(value)["page"].pk == home_page.pk
