from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from wagtail.models import Page, Site

from home.visibility import pages_visible_to

SEARCH_RESULTS_PER_PAGE = 10


@require_GET
def search(request):
    """Search the pages of the current site this visitor may open: a page under a
    restriction the visitor does not pass is never listed (nor hinted at)."""
    query = request.GET.get("q", "").strip()[:200]
    results = Page.objects.none()
    if query:
        site = Site.find_for_request(request)
        pages = pages_visible_to(request, Page.objects.live())
        if site is not None:
            pages = pages.descendant_of(site.root_page, inclusive=True)
        results = pages.specific().search(query)
    page = Paginator(results, SEARCH_RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, "home/search.html", {"search_query": query, "search_results": page}
    )


@require_GET
@cache_control(max_age=60 * 60)
def robots_txt(request):
    return render(request, "robots.txt", content_type="text/plain")
