"""Finding one's way: the menu, breadcrumbs, search, the sitemap and a friendly 404."""

from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    NewsIndexPage,
    NewsPage,
    StandardPage,
    add_draft,
    add_page,
    make_private,
    soup,
    visible_text,
)

pytestmark = pytest.mark.django_db


def menu_links(response):
    menu = soup(response).find("nav", attrs={"aria-label": "Main menu"})
    return menu.find_all("a")


def paragraph(text):
    return [{"type": "paragraph", "value": f"<p>{text}</p>"}]


@pytest.fixture
def site_tree(home_page):
    about = add_page(
        home_page, StandardPage, title="About us", slug="about", show_in_menus=True
    )
    board = add_page(
        about, StandardPage, title="Board", slug="board", show_in_menus=True
    )
    add_page(
        home_page, StandardPage, title="Statutes", slug="statutes", show_in_menus=False
    )
    news = add_page(
        home_page, NewsIndexPage, title="News", slug="news", show_in_menus=True
    )
    return {"about": about, "board": board, "news": news}


# --- Menu and breadcrumbs --------------------------------------------------------------


def test_main_menu_lists_the_pages_editors_chose(client, site_tree):
    response = client.get("/")

    labels = [a.get_text(strip=True) for a in menu_links(response)]
    assert labels == ["Home", "About us", "News"]


def test_main_menu_leaves_out_drafts_and_private_pages(client, home_page, site_tree):
    add_draft(home_page, StandardPage, title="Coming soon", show_in_menus=True)
    secret = add_page(home_page, StandardPage, title="Extranet", show_in_menus=True)
    make_private(secret)

    labels = [a.get_text(strip=True) for a in menu_links(client.get("/"))]

    assert "Coming soon" not in labels
    assert "Extranet" not in labels


def test_main_menu_marks_the_current_page(client, site_tree):
    response = client.get(site_tree["about"].url)

    current = [a for a in menu_links(response) if a.get("aria-current") == "page"]
    assert [a.get_text(strip=True) for a in current] == ["About us"]


def test_main_menu_marks_the_home_page_on_the_home_page(client, site_tree):
    current = [
        a for a in menu_links(client.get("/")) if a.get("aria-current") == "page"
    ]

    assert [a.get_text(strip=True) for a in current] == ["Home"]


def test_main_menu_highlights_the_section_of_a_nested_page(client, site_tree):
    links = {
        a.get_text(strip=True): a
        for a in menu_links(client.get(site_tree["board"].url))
    }

    # The section is highlighted, but it is not the current page.
    assert links["About us"].get("aria-current") is None
    assert "is-active" in links["About us"].get("class", [])
    assert all(a.get("aria-current") is None for a in links.values())


def test_breadcrumbs_on_a_nested_page(client, site_tree):
    response = client.get(site_tree["board"].url)

    trail = soup(response).find("nav", attrs={"aria-label": "Breadcrumb"})
    steps = [
        (li.get_text(strip=True), li.a["href"] if li.a else None) for li in trail("li")
    ]
    assert steps == [
        ("Home", "/"),
        ("About us", site_tree["about"].url),
        ("Board", None),
    ]
    assert trail.find(attrs={"aria-current": "page"}).get_text(strip=True) == "Board"


def test_no_breadcrumbs_on_the_home_page(client, site_tree):
    assert soup(client.get("/")).find("nav", attrs={"aria-label": "Breadcrumb"}) is None


# --- Search ----------------------------------------------------------------------------


def search_titles(client, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    results = soup(response).find("ol", class_="search-results")
    return [h.get_text(strip=True) for h in results("h2")] if results else []


def test_search_finds_a_published_page_by_a_word_in_its_body(client, home_page):
    add_page(
        home_page,
        StandardPage,
        title="Apprenticeships",
        body=paragraph("Our apprentices learn woodturning from masters."),
    )
    add_page(
        home_page, StandardPage, title="Insurance", body=paragraph("Cover for tools.")
    )

    assert search_titles(client, "woodturning") == ["Apprenticeships"]
    assert "1 result for “woodturning”." in visible_text(
        client.get("/search/", {"q": "woodturning"})
    )


def test_search_never_shows_private_pages_or_drafts(client, home_page):
    add_page(
        home_page, StandardPage, title="Open page", body=paragraph("Blacksmith news.")
    )
    secret = add_page(
        home_page,
        StandardPage,
        title="Board minutes",
        body=paragraph("Blacksmith dispute."),
    )
    make_private(secret)
    add_draft(
        home_page, StandardPage, title="Draft page", body=paragraph("Blacksmith draft.")
    )

    assert search_titles(client, "blacksmith") == ["Open page"]


def test_search_never_shows_children_of_private_pages(client, home_page):
    extranet = add_page(home_page, StandardPage, title="Extranet")
    make_private(extranet)
    add_page(
        extranet, StandardPage, title="Member rates", body=paragraph("Goldsmith rates.")
    )

    assert search_titles(client, "goldsmith") == []


def test_search_with_nothing_found_says_so(client, home_page):
    text = visible_text(client.get("/search/", {"q": "zeppelin"}))

    assert "0 results for “zeppelin”." in text


def test_empty_search_shows_just_the_form(client, home_page):
    response = client.get("/search/")

    assert response.status_code == 200
    assert soup(response).find("input", attrs={"name": "q"}) is not None
    assert "results for" not in visible_text(response)


def test_search_is_get_only(client, home_page):
    assert client.post("/search/", {"q": "x"}).status_code == 405


# --- Sitemap, robots.txt, 404 ----------------------------------------------------------


def sitemap_paths(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    namespace = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own output
    return {
        loc.text.split("://", 1)[1].split("/", 1)[1]
        for loc in root.findall(".//sm:loc", namespace)
    }


def test_sitemap_lists_live_public_pages_only(client, home_page, site_tree):
    add_draft(home_page, StandardPage, title="Draft", slug="draft")
    make_private(add_page(home_page, StandardPage, title="Secret", slug="secret"))

    paths = sitemap_paths(client)

    assert paths == {"", "about/", "about/board/", "statutes/", "news/"}


def test_robots_txt_keeps_crawlers_out_of_the_admin_and_names_the_sitemap(
    client, home_page
):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Disallow: /admin/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines


def test_unknown_address_gives_a_friendly_404(client, home_page):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    text = visible_text(response)
    assert "Page not found" in text
    assert "Sorry, we could not find that page." in text
    assert soup(response).find("a", href="/") is not None


# --- Query counts ----------------------------------------------------------------------


def count_queries(client, url):
    client.get(url)  # warm caches that any first visit fills
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_home_page_queries_do_not_grow_with_news_and_menu(client, home_page):
    news = add_page(
        home_page, NewsIndexPage, title="News", slug="news", show_in_menus=True
    )
    first_day = date(2026, 1, 1)

    def add_news(count, start):
        for n in range(start, start + count):
            add_page(
                news, NewsPage, title=f"Item {n}", date=first_day + timedelta(days=n)
            )

    def add_menu_pages(count, start):
        for n in range(start, start + count):
            add_page(home_page, StandardPage, title=f"Section {n}", show_in_menus=True)

    add_news(3, 0)
    add_menu_pages(2, 0)  # plus the news index: 3 menu pages
    small = count_queries(client, "/")

    add_news(17, 3)
    add_menu_pages(7, 2)  # 10 menu pages
    large = count_queries(client, "/")

    assert len(menu_links(client.get("/"))) == 11  # Home + 10
    assert large == small


def test_news_index_queries_do_not_grow_with_items(client, home_page):
    news = add_page(home_page, NewsIndexPage, title="News", slug="news")
    for n in range(3):
        add_page(
            news, NewsPage, title=f"Item {n}", date=date(2026, 1, 1) + timedelta(days=n)
        )
    small = count_queries(client, news.url)

    for n in range(3, 10):
        add_page(
            news, NewsPage, title=f"Item {n}", date=date(2026, 1, 1) + timedelta(days=n)
        )
    large = count_queries(client, news.url)

    assert large == small
