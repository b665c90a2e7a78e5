from django import template
from wagtail.models import Page, Site

from home.visibility import pages_visible_to

register = template.Library()


def _site_root(context):
    request = context.get("request")
    site = Site.find_for_request(request) if request else None
    return site.root_page if site else None


@register.inclusion_tag("includes/main_menu.html", takes_context=True)
def main_menu(context):
    """The pages directly under the home page that editors chose to show in menus and
    this visitor may open: a signed-in member finds the members' area here, a visitor
    or a lapsed member does not. Built per request (never cached across visitors)."""
    request = context.get("request")
    root = _site_root(context)
    current = context.get("page")
    items = []
    if root is not None and request is not None:
        children = root.get_children().live().in_menu()
        for page in pages_visible_to(request, children).only(
            "id", "title", "url_path", "path", "depth", "draft_title"
        ):
            items.append(
                {
                    "page": page,
                    "active": current is not None
                    and current.path.startswith(page.path),
                    "current": current is not None and current.pk == page.pk,
                }
            )
    return {
        "root": root,
        "items": items,
        "request": context.get("request"),
        "current": current,
    }


@register.inclusion_tag("includes/breadcrumbs.html", takes_context=True)
def breadcrumbs(context):
    page = context.get("page")
    root = _site_root(context)
    if page is None or root is None or page.depth <= root.depth:
        return {"ancestors": [], "request": context.get("request")}
    ancestors = (
        Page.objects.ancestor_of(page)
        .filter(depth__gte=root.depth)
        .only("id", "title", "url_path", "path", "depth", "draft_title")
    )
    return {"ancestors": ancestors, "page": page, "request": context.get("request")}
