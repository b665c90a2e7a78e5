"""What the admin's queues share (applications, change requests, inquiries): a
checkbox per row for the bulk buttons, shown only to those who may decide, search
term by term, the approve and reject addresses in the list's context, and a viewset
whose rows open on their inspect page because they are handled, never edited."""

from __future__ import annotations

from django.urls import reverse
from django.utils.functional import cached_property
from wagtail.admin.ui.tables import BaseColumn


class SelectColumn(BaseColumn):
    """A checkbox per row for the bulk buttons; subclasses name their templates."""


class DecisionQueueIndexMixin:
    """For a ``generic.IndexView`` of a queue. Set ``may_decide(user)``,
    ``search_q(term) -> Q`` and ``url_namespace`` (whose ``approve`` and ``reject``
    views take the selected rows)."""

    may_decide = None
    search_q = None
    url_namespace = ""

    @cached_property
    def columns(self):
        columns = super().columns
        if type(self).may_decide(self.request.user):
            return columns
        return [column for column in columns if not isinstance(column, SelectColumn)]

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        for term in self.search_query.split():
            queryset = queryset.filter(type(self).search_q(term))
        return queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.urlencode()
        context.update(
            can_decide=type(self).may_decide(self.request.user),
            approve_url=reverse(f"{self.url_namespace}:approve"),
            reject_url=reverse(f"{self.url_namespace}:reject"),
            next_url=f"{self.index_url}?{query}" if query else self.index_url,
        )
        return context


class HandledNotEditedViewSetMixin:
    """For a ``ModelViewSet`` whose rows staff handle through their own actions
    (approve, answer, close) rather than edit: no add, edit, delete, history, usage
    or copy views, and a row's link (and the admin's "edit" URL of one, e.g. in
    search results) opens its inspect page."""

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for name in ("add", "edit", "delete", "history", "usage", "copy"):
            view_kwargs[f"{name}_url_name"] = None
        return view_kwargs

    @property
    def url_finder_class(self):
        finder = super().url_finder_class
        finder.edit_url_name = self.get_url_name("inspect")
        return finder
