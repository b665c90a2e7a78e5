"""Change requests in the back office: the queue of members' held self-service edits.

Members change their own details in My Account (``extranet.views_details``); the
fields ``SelfServiceSettings`` holds for approval wait here. Staff see old and new
value side by side and approve or reject them, one or many at once, through
``members.change_requests``' services; the member is e-mailed the decision. A
chapter admin sees and decides only those of their chapters' persons and
organisations (``persons_visible_to``, ``organisations_visible_to``).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Q, Value, When
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views.generic import TemplateView
from django_filters import ChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from .admin_join import RefusingViewMixin
from .admin_queues import DecisionQueueIndexMixin
from .admin_queues import SelectColumn as BaseSelectColumn
from .change_requests import (
    DECIDE_PERMISSION,
    change_requests_approve,
    change_requests_reject,
)
from .models import ChangeRequest, Organisation, Person
from .models.change_requests import (
    ORGANISATION_SELF_SERVICE_FIELDS,
    PERSON_SELF_SERVICE_FIELDS,
)
from .selectors import chapter_scope, organisations_visible_to, persons_visible_to

Status = ChangeRequest.Status

# --- Scope and rights -----------------------------------------------------------------


def change_requests_visible_to(user):
    """Change requests of the persons and organisations the user may see."""
    requests = ChangeRequest.objects.all()
    if chapter_scope(user) is None:
        return requests
    return requests.filter(
        Q(person__in=persons_visible_to(user))
        | Q(organisation__in=organisations_visible_to(user))
    )


def can_decide(user) -> bool:
    return user.is_active and user.has_perm(DECIDE_PERMISSION)


# --- The queue ------------------------------------------------------------------------


def _field_choices():
    seen: dict[str, str] = {}
    for model, names in (
        (Person, PERSON_SELF_SERVICE_FIELDS),
        (Organisation, ORGANISATION_SELF_SERVICE_FIELDS),
    ):
        for name in names:
            label = str(model._meta.get_field(name).verbose_name)
            seen.setdefault(name, label[:1].upper() + label[1:])
    return sorted(seen.items(), key=lambda item: item[1])


class ChangeRequestFilterSet(WagtailFilterSet):
    status = ChoiceFilter(label=gettext_lazy("Status"), choices=Status.choices)
    field = ChoiceFilter(label=gettext_lazy("Field"), choices=_field_choices)

    class Meta:
        model = ChangeRequest
        fields = ["status", "field"]


class SelectColumn(BaseSelectColumn):
    """A checkbox per pending row, named ``change_request``, for the bulk buttons."""

    header_template_name = "members/admin/change_requests/select_header.html"
    cell_template_name = "members/admin/change_requests/select_cell.html"


def _record_url(change_request) -> str:
    if change_request.person_id:
        return reverse("register_persons:edit", args=[change_request.person_id])
    return reverse("register_organisations:edit", args=[change_request.organisation_id])


def _field_label(change_request) -> str:
    label = change_request.field_label
    return label[:1].upper() + label[1:]


def _decided(change_request) -> str:
    if not change_request.decided_at:
        return ""
    who = change_request.decided_by or "–"
    return f"{who}, {change_request.decided_at:%Y-%m-%d %H:%M}"


def change_request_search_q(term: str) -> Q:
    return (
        Q(person__first_name__icontains=term)
        | Q(person__last_name__icontains=term)
        | Q(person__email__icontains=term)
        | Q(organisation__name__icontains=term)
    )


class ChangeRequestIndexView(DecisionQueueIndexMixin, generic.IndexView):
    """Pending first, newest first within each group. Related rows come with the
    list: its query count does not grow with its length."""

    results_template_name = "members/admin/change_requests/results.html"
    may_decide = staticmethod(can_decide)
    search_q = staticmethod(change_request_search_q)
    url_namespace = "register_change_requests"
    default_ordering = ("queue_rank", "-created_at", "-pk")

    def get_base_queryset(self):
        return (
            change_requests_visible_to(self.request.user)
            .select_related("person", "organisation", "requested_by", "decided_by")
            .annotate(
                queue_rank=Case(
                    When(status=Status.PENDING, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                ),
            )
        )


# --- Deciding -------------------------------------------------------------------------


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Sent to the member by e-mail, as written here."),
    )


NOT_PENDING = ngettext_lazy(
    "%(count)d change was no longer waiting (or no longer valid) and was left as it "
    "was.",
    "%(count)d changes were no longer waiting (or no longer valid) and were left as "
    "they were.",
    "count",
)


class DecideViewMixin(RefusingViewMixin):
    """Approve or reject the change requests ticked in the list (``change_request``
    in the POST). Only users who may change change requests; others get a 403."""

    allowed = staticmethod(can_decide)
    refusal = gettext_lazy(
        "Only staff who may change change requests approve or reject them."
    )
    index_crumb = ("register_change_requests:index", gettext_lazy("Change requests"))

    def selected(self) -> list[ChangeRequest]:
        requests = change_requests_visible_to(self.request.user).select_related(
            "person", "organisation", "requested_by"
        )
        ids = [i for i in self.request.POST.getlist("change_request") if i.isdigit()]
        return list(requests.filter(pk__in=ids).order_by("created_at", "pk"))

    def next_url(self) -> str:
        url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url and url_has_allowed_host_and_scheme(
            url, allowed_hosts={self.request.get_host()}
        ):
            return url
        return reverse("register_change_requests:index")

    def nothing_selected(self):
        messages.warning(self.request, _("Select the change requests first."))
        return redirect(self.next_url())

    def report(self, done: int, selected: int, *, done_message):
        if done:
            messages.success(self.request, done_message % {"count": done})
        if selected - done:
            messages.warning(self.request, NOT_PENDING % {"count": selected - done})

    def get(self, request, *args, **kwargs):
        return redirect("register_change_requests:index")


class ApproveView(DecideViewMixin, TemplateView):
    """Approving is one click from the list."""

    def post(self, request, *args, **kwargs):
        requests = self.selected()
        if not requests:
            return self.nothing_selected()
        try:
            done = change_requests_approve(change_requests=requests, by=request.user)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
            return redirect(self.next_url())
        self.report(
            done,
            len(requests),
            done_message=ngettext_lazy(
                "%(count)d change approved and applied.",
                "%(count)d changes approved and applied.",
                "count",
            ),
        )
        return redirect(self.next_url())


class RejectView(DecideViewMixin, TemplateView):
    """Asks for the reason (sent to the members), then rejects."""

    template_name = "members/admin/change_requests/reject.html"
    page_title = gettext_lazy("Reject changes")
    header_icon = "cross"

    def render(self, form, requests):
        return self.render_to_response(
            self.get_context_data(
                form=form,
                change_requests=requests,
                action_url=self.request.path,
                next_url=self.next_url(),
                cancel_url=self.next_url(),
            )
        )

    def post(self, request, *args, **kwargs):
        requests = self.selected()
        if not requests:
            return self.nothing_selected()
        if "reason" not in request.POST:
            # Sent from the list's "Reject" button: ask for the reason first.
            return self.render(RejectForm(), requests)
        form = RejectForm(request.POST)
        if not form.is_valid():
            return self.render(form, requests)
        try:
            done = change_requests_reject(
                change_requests=requests,
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
            return self.render(form, requests)
        self.report(
            done,
            len(requests),
            done_message=ngettext_lazy(
                "%(count)d change rejected; the reason was sent.",
                "%(count)d changes rejected; the reason was sent.",
                "count",
            ),
        )
        return redirect(self.next_url())


class ChangeRequestViewSet(ModelViewSet):
    """The change requests queue: a list with bulk approve and reject. Requests are
    made by members in My Account; nothing is added, edited or deleted here."""

    model = ChangeRequest
    name = "register_change_requests"
    url_prefix = "register/change-requests"
    icon = "edit"
    menu_label = gettext_lazy("Change requests")
    menu_order = 360
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = False
    search_backend_name = None
    search_fields = ["field"]  # searched with ``change_request_search_q``
    index_view_class = ChangeRequestIndexView
    filterset_class = ChangeRequestFilterSet
    list_per_page = 50
    list_display = [
        SelectColumn("select", label=gettext_lazy("Select")),
        TitleColumn(
            "record",
            label=gettext_lazy("Member"),
            accessor="record",
            get_url=_record_url,
        ),
        Column("field", label=gettext_lazy("Field"), accessor=_field_label),
        Column("old_value", label=gettext_lazy("Old value"), accessor="old_display"),
        Column("new_value", label=gettext_lazy("New value"), accessor="new_display"),
        Column("created_at", label=gettext_lazy("Requested at"), sort_key="created_at"),
        Column(
            "status",
            label=gettext_lazy("Status"),
            accessor="get_status_display",
            sort_key="status",
        ),
        Column("decided", label=gettext_lazy("Decided"), accessor=_decided),
        Column("reason", label=gettext_lazy("Reason")),
    ]

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for name in ("add", "edit", "delete", "history", "usage", "copy", "inspect"):
            view_kwargs[f"{name}_url_name"] = None
        return view_kwargs

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("approve/", ApproveView.as_view(), name="approve"),
            path("reject/", RejectView.as_view(), name="reject"),
        ]


__all__ = [
    "ChangeRequestViewSet",
    "change_requests_visible_to",
]
