from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from wagtail.models import Page, Site

SEARCH_RESULTS_PER_PAGE = 10


@require_GET
def search(request):
    """Search the public pages of the current site; private pages are never listed."""
    query = request.GET.get("q", "").strip()[:200]
    results = Page.objects.none()
    if query:
        site = Site.find_for_request(request)
        pages = Page.objects.live().public().specific()
        if site is not None:
            pages = pages.descendant_of(site.root_page, inclusive=True)
        results = pages.search(query)
    page = Paginator(results, SEARCH_RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, "home/search.html", {"search_query": query, "search_results": page}
    )


@require_GET
@cache_control(max_age=60 * 60)
def robots_txt(request):
    return render(request, "robots.txt", content_type="text/plain")
