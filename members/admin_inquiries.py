"""Inquiries in the back office: members' support requests and complaints.

Members send them from an inquiry form page and follow them in My Account; staff
find them under Register → Inquiries: those waiting for an answer first, searchable
by subject and member. An inquiry's page shows the answers to the form and the
thread, with a reply form (the member is e-mailed a notice), "assign to me", close
and reopen, all through ``members.inquiries``' services. A chapter admin sees and
answers only the inquiries of their chapters' persons (``persons_visible_to``).
Nothing is added here (members send inquiries) and nothing is deleted.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Q, Value, When
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import ChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from .admin_common import safe_cell
from .admin_join import forbidden
from .admin_queues import HandledNotEditedViewSetMixin
from .inquiries import (
    MAX_LENGTH,
    answers_text,
    can_handle,
    inquiry_assign,
    inquiry_close,
    inquiry_reopen,
    inquiry_reply_staff,
)
from .models import Inquiry
from .selectors import chapter_scope, persons_visible_to

Status = Inquiry.Status

# --- Scope ----------------------------------------------------------------------------


def inquiries_visible_to(user):
    """Inquiries of the persons the user may see (all, when they see the register)."""
    inquiries = Inquiry.objects.all()
    if chapter_scope(user) is None:
        return inquiries
    return inquiries.filter(person__in=persons_visible_to(user))


def inquiry_search_q(term: str) -> Q:
    query = (
        Q(subject__icontains=term)
        | Q(person__first_name__icontains=term)
        | Q(person__last_name__icontains=term)
        | Q(person__email__icontains=term)
        | Q(organisation__name__icontains=term)
    )
    if term.isdigit() and len(term) <= 9:
        query |= Q(person__member_number=int(term))
    return query


# --- The list -------------------------------------------------------------------------


class InquiryFilterSet(WagtailFilterSet):
    status = ChoiceFilter(label=gettext_lazy("Status"), choices=Status.choices)
    kind = ChoiceFilter(label=gettext_lazy("Kind"), choices=Inquiry.Kind.choices)
    handler = ChoiceFilter(
        label=gettext_lazy("Handled by"),
        choices=[
            ("me", gettext_lazy("Me")),
            ("nobody", gettext_lazy("Nobody yet")),
        ],
        method="filter_handler",
    )

    class Meta:
        model = Inquiry
        fields = ["status", "kind"]

    def filter_handler(self, queryset, name, value):
        if value == "me" and self.request is not None:
            return queryset.filter(assigned_to=self.request.user)
        if value == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


def _member(inquiry) -> str:
    person = inquiry.person
    if person.member_number:
        return f"{person.full_name} ({person.member_number})"
    return person.full_name


class InquiryIndexView(generic.IndexView):
    """Waiting for us first, then answered, then closed; within each, the latest
    activity first. Related rows come with the list: its query count does not grow
    with its length."""

    default_ordering = ("queue_rank", "-updated_at", "-pk")

    def get_base_queryset(self):
        return (
            inquiries_visible_to(self.request.user)
            .select_related("person", "organisation", "assigned_to")
            .annotate(
                queue_rank=Case(
                    When(status=Status.OPEN, then=Value(0)),
                    When(status=Status.ANSWERED, then=Value(1)),
                    default=Value(2),
                    output_field=IntegerField(),
                )
            )
        )

    def search_queryset(self, queryset):
        if not self.is_searchable or not self.is_searching:
            return queryset
        for term in self.search_query.split():
            queryset = queryset.filter(inquiry_search_q(term))
        return queryset


# --- One inquiry ----------------------------------------------------------------------


class StaffReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Your answer"),
        max_length=MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy(
            "Shown to the member in My Account; they are e-mailed that you answered."
        ),
    )


class InquiryInspectView(generic.InspectView):
    """The answers to the form, the thread, and what staff may do with it."""

    template_name = "members/admin/inquiry_detail.html"
    page_title = gettext_lazy("Inquiry")

    def get_object(self, queryset=None):
        inquiries = inquiries_visible_to(self.request.user).select_related(
            "person", "organisation", "assigned_to"
        )
        return get_object_or_404(inquiries, pk=self.pk)

    def get_fields_context(self):
        return []

    @cached_property
    def header_more_buttons(self):
        return []

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        inquiry = self.object
        handles = can_handle(self.request.user)

        def action(name):
            return reverse(f"register_inquiries:{name}", args=[inquiry.pk])

        context.update(
            inquiry=inquiry,
            answers=[a for a in inquiry.answers or [] if isinstance(a, dict)],
            thread=list(inquiry.messages.select_related("author"))[1:],
            person_url=reverse("register_persons:edit", args=[inquiry.person_id]),
            organisation_url=(
                reverse("register_organisations:edit", args=[inquiry.organisation_id])
                if inquiry.organisation_id
                else None
            ),
            can_handle=handles,
            form=form or StaffReplyForm(),
            reply_url=action("reply") if handles else None,
            assign_url=(
                action("assign")
                if handles and inquiry.assigned_to_id != self.request.user.pk
                else None
            ),
            close_url=(
                action("close") if handles and inquiry.status != Status.CLOSED else None
            ),
            reopen_url=(
                action("reopen")
                if handles and inquiry.status == Status.CLOSED
                else None
            ),
        )
        return context


class InquiryActionView(InquiryInspectView):
    """A button on the inquiry's page (POST): reply, assign to me, close, reopen.
    Only staff who may change inquiries (a 403 that says so for the others)."""

    action = ""

    def dispatch(self, request, *args, **kwargs):
        if not can_handle(request.user):
            return forbidden(
                request, _("Only staff who may change inquiries answer or close them.")
            )
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        return redirect("register_inquiries:inspect", pk=self.object.pk)

    def post(self, request, *args, **kwargs):
        inquiry = self.object
        user = request.user
        form = None
        try:
            if self.action == "reply":
                form = StaffReplyForm(request.POST)
                if not form.is_valid():
                    return self.render_to_response(
                        self.get_context_data(form=form), status=400
                    )
                inquiry_reply_staff(
                    inquiry=inquiry, body=form.cleaned_data["body"], by=user
                )
                messages.success(
                    request, _("Answer sent; the member was told by e-mail.")
                )
            elif self.action == "assign":
                inquiry_assign(inquiry=inquiry, to=user, by=user)
                messages.success(request, _("You handle this inquiry now."))
            elif self.action == "close":
                inquiry_close(inquiry=inquiry, by=user)
                messages.success(request, _("Inquiry closed."))
            elif self.action == "reopen":
                inquiry_reopen(inquiry=inquiry, by=user)
                messages.success(request, _("Inquiry reopened."))
        except PermissionDenied:
            return forbidden(request, _("You may not do this."))
        except ValidationError as error:
            if form is not None:
                for message in error.messages:
                    form.add_error("body", message)
                return self.render_to_response(
                    self.get_context_data(form=form), status=400
                )
            messages.error(request, " ".join(error.messages))
        return redirect("register_inquiries:inspect", pk=inquiry.pk)


# --- The viewset ----------------------------------------------------------------------


def _answers_cell(value):
    return safe_cell(answers_text(value))


class InquiryViewSet(HandledNotEditedViewSetMixin, ModelViewSet):
    """Register → Inquiries: a list, a page per inquiry with its thread, and the
    buttons to answer, assign, close and reopen. Inquiries are sent by members;
    nothing is added, edited as a form or deleted here."""

    model = Inquiry
    name = "register_inquiries"
    url_prefix = "register/inquiries"
    icon = "help"
    menu_label = gettext_lazy("Inquiries")
    menu_order = 370
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    search_backend_name = None
    search_fields = ["subject"]  # searched with ``inquiry_search_q``
    index_view_class = InquiryIndexView
    inspect_view_class = InquiryInspectView
    inspect_template_name = "members/admin/inquiry_detail.html"
    filterset_class = InquiryFilterSet
    list_per_page = 50
    list_display = [
        TitleColumn(
            "subject",
            label=gettext_lazy("Subject"),
            url_name="register_inquiries:inspect",
        ),
        Column("person", label=gettext_lazy("Member"), accessor=_member),
        Column(
            "kind",
            label=gettext_lazy("Kind"),
            accessor="get_kind_display",
            sort_key="kind",
        ),
        Column(
            "status",
            label=gettext_lazy("Status"),
            accessor="get_status_display",
            sort_key="status",
        ),
        Column("assigned_to", label=gettext_lazy("Handled by")),
        Column("created_at", label=gettext_lazy("Sent"), sort_key="created_at"),
        Column(
            "updated_at", label=gettext_lazy("Last activity"), sort_key="updated_at"
        ),
    ]
    list_export = [
        "created_at",
        "updated_at",
        "get_status_display",
        "get_kind_display",
        "form_title",
        "subject",
        "person.member_number",
        "person",
        "organisation",
        "assigned_to",
        "answers",
    ]
    export_headings = {
        "get_status_display": gettext_lazy("Status"),
        "get_kind_display": gettext_lazy("Kind"),
        "person.member_number": gettext_lazy("Member number"),
        "person": gettext_lazy("Member"),
    }
    export_filename = "inquiries"

    def get_index_view_kwargs(self, **kwargs):
        cells = {"csv": safe_cell, "xlsx": safe_cell}
        answers = {"csv": _answers_cell, "xlsx": _answers_cell}
        return super().get_index_view_kwargs(
            custom_field_preprocess={
                "subject": cells,
                "form_title": cells,
                "person": cells,
                "organisation": cells,
                "answers": answers,
            },
            **kwargs,
        )

    def get_urlpatterns(self):
        def action(name):
            return self.construct_view(
                InquiryActionView, **self.get_inspect_view_kwargs(), action=name
            )

        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("<int:pk>/", self.inspect_view, name="inspect"),
            path("<int:pk>/reply/", action("reply"), name="reply"),
            path("<int:pk>/assign/", action("assign"), name="assign"),
            path("<int:pk>/close/", action("close"), name="close"),
            path("<int:pk>/reopen/", action("reopen"), name="reopen"),
        ]


__all__ = ["InquiryViewSet", "inquiries_visible_to"]
