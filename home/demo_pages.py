"""Building demo page trees that can be built again: ``seed_demo`` and the demos of
the apps that build on ``home`` (``extranet.demo``) use the same helper."""

from __future__ import annotations


def child_page_ensure(parent, model, slug: str, **fields):
    """The live ``model`` page at ``slug`` under ``parent``, made and published with
    ``fields`` if it is not there yet (an existing one is left as it is)."""
    existing = model.objects.child_of(parent).filter(slug=slug).first()
    if existing is not None:
        return existing
    page = model(slug=slug, **fields)
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page
