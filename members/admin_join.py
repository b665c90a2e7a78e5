"""Joining in the back office: the applications queue.

Applications are made by the join page (``members.join_views``) and decided here,
one at a time or many at once, through ``members.applications``' services: approving
sends the applicant on to payment, rejecting sends them the reason given. A chapter
admin sees and decides only the applications to their chapter and those below it.

The recruitment report is in ``admin_recruitment``; dues runs, chapter fees and
discount rules are in ``admin_dues``. Both use this module's ``RefusingViewMixin``.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, Value, When
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views.generic import TemplateView
from django_filters import ChoiceFilter, DateFromToRangeFilter, ModelChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from shop.admin_lists import money_display

from .admin_common import (
    TitledPageMixin,
    chapters_for,
)
from .admin_queues import DecisionQueueIndexMixin, HandledNotEditedViewSetMixin
from .admin_queues import SelectColumn as BaseSelectColumn
from .applications import (
    application_approve,
    application_reject,
    applications_approve,
    applications_reject,
)
from .models import (
    Application,
    Chapter,
    MembershipType,
)
from .selectors import chapter_scope

Status = Application.Status

# --- Scope and rights -----------------------------------------------------------------


def applications_visible_to(user):
    """Applications to the user's chapters (all, when they see the whole register)."""
    scope = chapter_scope(user)
    applications = Application.objects.all()
    if scope is None:
        return applications
    return applications.filter(chapter__in=scope)


def can_decide(user) -> bool:
    return user.is_active and user.has_perm("members.change_application")


def forbidden(request, message) -> TemplateResponse:
    """A real 403 with a message, rather than Wagtail's redirect to the dashboard:
    the user sees why, and a link or a script sees the refusal."""
    return TemplateResponse(
        request,
        "members/admin/join/forbidden.html",
        {
            "page_title": _("Not allowed"),
            "header_title": _("Not allowed"),
            "message": message,
        },
        status=403,
    )


class RefusingViewMixin(TitledPageMixin):
    """Answers 403 (``forbidden``) unless ``allowed(user)``; then ``load()`` fetches
    what the view is about."""

    allowed = staticmethod(can_decide)
    refusal = gettext_lazy("You may not do this. Ask an administrator if you need to.")

    def dispatch(self, request, *args, **kwargs):
        if not type(self).allowed(request.user):
            return forbidden(request, self.refusal)
        self.load(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def load(self, **kwargs) -> None:
        """Fetch what the view is about, once the user may see it."""


# --- The queue ------------------------------------------------------------------------


def _chapters_for(request):
    return chapters_for(request.user) if request else Chapter.objects.all()


class ApplicationFilterSet(WagtailFilterSet):
    status = ChoiceFilter(label=gettext_lazy("Status"), choices=Status.choices)
    type = ModelChoiceFilter(
        label=gettext_lazy("Membership type"), queryset=MembershipType.objects.all()
    )
    chapter = ModelChoiceFilter(
        label=gettext_lazy("Chapter"),
        queryset=_chapters_for,
        method="filter_chapter",
        help_text=gettext_lazy("The chapter and the chapters below it."),
    )
    created_at = DateFromToRangeFilter(
        label=gettext_lazy("Sent"), widget=DateRangePickerWidget
    )

    class Meta:
        model = Application
        fields = ["status", "type", "chapter", "created_at"]

    def filter_chapter(self, queryset, name, value):
        return queryset.filter(chapter__path__startswith=value.path)


class SelectColumn(BaseSelectColumn):
    """A checkbox per row, named ``application``, for the list's bulk buttons."""

    header_template_name = "members/admin/join/select_header.html"
    cell_template_name = "members/admin/join/select_cell.html"


def _order_status(application) -> str:
    order = application.order
    return order.get_status_display() if order else "–"


def _gift(application) -> str:
    if not application.gift_amount:
        return ""
    return money_display(application.gift_amount, application.type.currency)


def _recruiter(application) -> str:
    return str(application.recruited_by) if application.recruited_by else ""


def application_search_q(term: str) -> Q:
    return (
        Q(person__first_name__icontains=term)
        | Q(person__last_name__icontains=term)
        | Q(person__email__icontains=term)
        | Q(email__icontains=term)
        | Q(organisation__name__icontains=term)
    )


class ApplicationIndexView(DecisionQueueIndexMixin, generic.IndexView):
    """The queue: those awaiting approval first, newest first within each status.
    Every related row comes with the list, so its query count does not grow with
    its length."""

    results_template_name = "members/admin/join/application_results.html"
    may_decide = staticmethod(can_decide)
    search_q = staticmethod(application_search_q)
    url_namespace = "register_applications"
    default_ordering = ("queue_rank", "-created_at", "-pk")

    def get_base_queryset(self):
        return (
            applications_visible_to(self.request.user)
            .select_related(
                "person", "organisation", "type", "chapter", "recruited_by", "order"
            )
            .annotate(
                queue_rank=Case(
                    When(status=Status.AWAITING_APPROVAL, then=Value(0)),
                    When(status=Status.AWAITING_PAYMENT, then=Value(1)),
                    default=Value(2),
                    output_field=IntegerField(),
                )
            )
        )


class ApplicationInspectView(generic.InspectView):
    """One application: who, what, the consents as worded when given, the order,
    and the buttons to approve or reject it."""

    template_name = "members/admin/join/application_detail.html"
    page_title = gettext_lazy("Application")

    def get_object(self, queryset=None):
        applications = applications_visible_to(self.request.user).select_related(
            "person",
            "organisation",
            "type",
            "chapter",
            "recruited_by",
            "order",
            "membership",
            "decided_by",
        )
        return get_object_or_404(applications, pk=self.pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        application = self.object
        answers = application.answers if isinstance(application.answers, dict) else {}
        decidable = (
            can_decide(self.request.user)
            and application.status == Status.AWAITING_APPROVAL
        )
        context.update(
            application=application,
            consents=[c for c in answers.get("consents", []) if isinstance(c, dict)],
            other_answers=[
                (key, value)
                for key, value in answers.items()
                if key not in ("consents", "join_page_id")
            ],
            gift_display=_gift(application),
            person_url=reverse("register_persons:edit", args=[application.person_id]),
            organisation_url=(
                reverse(
                    "register_organisations:edit", args=[application.organisation_id]
                )
                if application.organisation_id
                else None
            ),
            membership_url=reverse(
                "register_memberships:edit", args=[application.membership_id]
            ),
            recruiter_url=(
                reverse("register_persons:edit", args=[application.recruited_by_id])
                if application.recruited_by_id
                else None
            ),
            order_url=(
                reverse("shop_orders:inspect", args=[application.order_id])
                if application.order_id
                and self.request.user.has_perm("shop.view_order")
                else None
            ),
            approve_url=(
                reverse("register_applications:approve_one", args=[application.pk])
                if decidable
                else None
            ),
            reject_url=(
                reverse("register_applications:reject_one", args=[application.pk])
                if decidable
                else None
            ),
        )
        return context

    @property
    def header_more_buttons(self):
        return []


# --- Deciding -------------------------------------------------------------------------


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Sent to the applicant by e-mail, as written here."),
    )


def awaiting_approval(applications) -> list[Application]:
    """Those of ``applications`` still to be decided; the others are left alone."""
    return [a for a in applications if a.status == Status.AWAITING_APPROVAL]


class DecideViewMixin(RefusingViewMixin):
    """Approve or reject one application (``pk`` in the URL) or those ticked in the
    list (``application`` in the POST). Only users who may change applications."""

    allowed = staticmethod(can_decide)
    refusal = gettext_lazy(
        "Only staff who may change applications approve or reject them."
    )
    index_crumb = ("register_applications:index", gettext_lazy("Applications"))

    def load(self, **kwargs) -> None:
        self.pk = kwargs.get("pk")

    def selected(self):
        applications = applications_visible_to(self.request.user).select_related(
            "person", "organisation", "type"
        )
        if self.pk is not None:
            return [get_object_or_404(applications, pk=self.pk)]
        ids = [i for i in self.request.POST.getlist("application") if i.isdigit()]
        return list(applications.filter(pk__in=ids).order_by("-created_at", "-pk"))

    def next_url(self) -> str:
        url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url and url_has_allowed_host_and_scheme(
            url, allowed_hosts={self.request.get_host()}
        ):
            return url
        if self.pk is not None:
            return reverse("register_applications:inspect", args=[self.pk])
        return reverse("register_applications:index")

    def nothing_selected(self):
        messages.warning(self.request, _("Select the applications first."))
        return redirect(self.next_url())

    def report(self, done: int, selected: int, *, done_message, none_message):
        if done:
            messages.success(self.request, done_message % {"count": done})
        skipped = selected - done
        if skipped:
            messages.warning(
                self.request,
                none_message % {"count": skipped},
            )


NOT_AWAITING = ngettext_lazy(
    "%(count)d application was not awaiting approval and was left as it was.",
    "%(count)d applications were not awaiting approval and were left as they were.",
    "count",
)


class ApproveView(DecideViewMixin, TemplateView):
    """Approving is one click from the list; a single application asks first."""

    template_name = "members/admin/confirm_action.html"
    page_title = gettext_lazy("Approve application")
    header_icon = "check"

    def get(self, request, *args, **kwargs):
        if self.pk is None:
            return redirect("register_applications:index")
        return super().get(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.selected()[0]) if self.pk else ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        application = self.selected()[0]
        context.update(
            confirmation_message=_(
                "Approve the application of %(applicant)s for “%(type)s”? They are "
                "asked to pay, and become a member once they have."
            )
            % {"applicant": application.applicant_name, "type": application.type},
            confirm_label=_("Yes, approve"),
            cancel_url=self.next_url(),
            action_url=self.request.path,
        )
        return context

    def post(self, request, *args, **kwargs):
        applications = self.selected()
        if not applications:
            return self.nothing_selected()
        try:
            if self.pk is not None:
                application_approve(application=applications[0], by=request.user)
                done = 1
            else:
                done = applications_approve(
                    applications=awaiting_approval(applications), by=request.user
                )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(self.next_url())
        self.report(
            done,
            len(applications),
            done_message=ngettext_lazy(
                "%(count)d application approved.",
                "%(count)d applications approved.",
                "count",
            ),
            none_message=NOT_AWAITING,
        )
        return redirect(self.next_url())


class RejectView(DecideViewMixin, TemplateView):
    """Asks for the reason (sent to the applicants), then rejects."""

    template_name = "members/admin/join/reject.html"
    page_title = gettext_lazy("Reject applications")
    header_icon = "cross"

    def get(self, request, *args, **kwargs):
        if self.pk is None:
            return redirect("register_applications:index")
        return self.render(RejectForm(), self.selected())

    def render(self, form, applications):
        return self.render_to_response(
            self.get_context_data(
                form=form,
                applications=applications,
                action_url=self.request.path,
                next_url=self.next_url(),
                cancel_url=self.next_url(),
            )
        )

    def post(self, request, *args, **kwargs):
        applications = self.selected()
        if not applications:
            return self.nothing_selected()
        if "reason" not in request.POST:
            # Sent from the list's "Reject" button: ask for the reason first.
            return self.render(RejectForm(), applications)
        form = RejectForm(request.POST)
        if not form.is_valid():
            return self.render(form, applications)
        reason = form.cleaned_data["reason"]
        try:
            if self.pk is not None:
                application_reject(
                    application=applications[0], reason=reason, by=request.user
                )
                done = 1
            else:
                done = applications_reject(
                    applications=awaiting_approval(applications),
                    reason=reason,
                    by=request.user,
                )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
            return self.render(form, applications)
        self.report(
            done,
            len(applications),
            done_message=ngettext_lazy(
                "%(count)d application rejected; the reason was sent.",
                "%(count)d applications rejected; the reason was sent.",
                "count",
            ),
            none_message=NOT_AWAITING,
        )
        return redirect(self.next_url())


class ApplicationViewSet(HandledNotEditedViewSetMixin, ModelViewSet):
    """The applications queue: a list, a page per application, approve and reject.
    Applications are made by the join page; nothing is added, edited or deleted."""

    model = Application
    name = "register_applications"
    url_prefix = "register/applications"
    icon = "form"
    menu_label = gettext_lazy("Applications")
    menu_order = 350
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    search_backend_name = None
    search_fields = ["email"]  # searched with ``application_search_q``
    index_view_class = ApplicationIndexView
    inspect_view_class = ApplicationInspectView
    filterset_class = ApplicationFilterSet
    list_per_page = 50
    list_display = [
        SelectColumn("select", label=gettext_lazy("Select")),
        TitleColumn(
            "applicant",
            label=gettext_lazy("Applicant"),
            accessor="applicant_name",
            url_name="register_applications:inspect",
        ),
        Column("type", label=gettext_lazy("Type"), sort_key="type__name"),
        Column("chapter", label=gettext_lazy("Chapter"), sort_key="chapter__path"),
        Column("created_at", label=gettext_lazy("Sent"), sort_key="created_at"),
        Column(
            "status",
            label=gettext_lazy("Status"),
            accessor="get_status_display",
            sort_key="status",
        ),
        Column("recruited_by", label=gettext_lazy("Recruited by"), accessor=_recruiter),
        Column("order", label=gettext_lazy("Payment"), accessor=_order_status),
        Column("gift", label=gettext_lazy("Extra gift"), accessor=_gift),
    ]

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("<int:pk>/", self.inspect_view, name="inspect"),
            path("approve/", ApproveView.as_view(), name="approve"),
            path("<int:pk>/approve/", ApproveView.as_view(), name="approve_one"),
            path("reject/", RejectView.as_view(), name="reject"),
            path("<int:pk>/reject/", RejectView.as_view(), name="reject_one"),
        ]


__all__ = [
    "ApplicationViewSet",
    "applications_visible_to",
]
