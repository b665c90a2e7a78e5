"""What the admin's decision queues share (applications, change requests): a
checkbox per row for the bulk buttons, shown only to those who may decide, search
term by term, and the approve and reject addresses in the list's context."""

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
