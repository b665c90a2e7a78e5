"""Renewal in the back office: dues runs, chapter fees and discount rules.

A dues run renews every membership whose period ends by a date: the clerk picks the
date, sees how many memberships are due, starts the run (``members.dues``, a
Celery task) and watches it on its page, which refreshes itself until the run is
done and then sums it up. Chapter fees and discount rules are the prices that the
join page and the dues run both read (``members.pricing``).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, ObjectList
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import AdminDateInput

from shop.admin_lists import money_display

from . import dues
from .admin_common import SimpleViewSet
from .admin_join import RefusingViewMixin
from .models import DiscountRule, DuesRun, MembershipPrice

RunStatus = DuesRun.Status

# --- Rights ---------------------------------------------------------------------------


def can_view_runs(user) -> bool:
    return user.is_active and user.has_perm("members.view_duesrun")


def can_start_runs(user) -> bool:
    return user.is_active and user.has_perm("members.add_duesrun")


def _currency() -> str:
    return getattr(settings, "GUILDHALL_CURRENCY", "NOK")


def _optional_url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# --- Dues runs ------------------------------------------------------------------------


_SEE_RUNS = gettext_lazy("Dues runs are for accounts clerks and membership officers.")
_START_RUNS = gettext_lazy("Only accounts clerks start dues runs.")


class DuesRunIndexView(RefusingViewMixin, TemplateView):
    """Every run, newest first, with its progress and what it invoiced."""

    allowed = staticmethod(can_view_runs)
    refusal = _SEE_RUNS
    template_name = "members/admin/join/dues_run_index.html"
    page_title = gettext_lazy("Dues runs")
    header_icon = "calendar"
    per_page = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        runs = DuesRun.objects.select_related("created_by")
        page = Paginator(runs, self.per_page).get_page(self.request.GET.get("p"))
        context.update(
            page=page,
            rows=[
                {"run": run, "amount": money_display(run.amount, _currency())}
                for run in page
            ],
            can_start=can_start_runs(self.request.user),
            busy=any(
                run.status in (RunStatus.QUEUED, RunStatus.RUNNING) for run in page
            ),
        )
        return context


def default_ends_by() -> date:
    """The last day of this year: the usual yearly run."""
    return date(timezone.localdate().year, 12, 31)


class DuesRunStartForm(forms.Form):
    ends_by = forms.DateField(
        label=gettext_lazy("Renew periods ending by"),
        widget=AdminDateInput,
        help_text=gettext_lazy(
            "Every active membership whose current period ends on or before this "
            "date, and that has no renewal yet, gets an order and an invoice."
        ),
    )


class DuesRunStartView(RefusingViewMixin, TemplateView):
    """Pick the date, see how many memberships are due, then start the run."""

    allowed = staticmethod(can_start_runs)
    refusal = _START_RUNS
    index_crumb = ("members_dues_runs:index", gettext_lazy("Dues runs"))
    template_name = "members/admin/join/dues_run_start.html"
    page_title = gettext_lazy("Start a dues run")
    header_icon = "calendar"

    def get(self, request, *args, **kwargs):
        form = DuesRunStartForm(initial={"ends_by": default_ends_by()})
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        form = DuesRunStartForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        ends_by = form.cleaned_data["ends_by"]
        if "confirm" not in request.POST:
            return self.render_to_response(
                self.get_context_data(
                    form=form,
                    confirming=True,
                    ends_by=ends_by,
                    due=dues.memberships_due(ends_by).count(),
                )
            )
        try:
            run = dues.dues_run_start(ends_by=ends_by, by=request.user)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            request,
            _("The dues run for periods ending by %(date)s has started.")
            % {"date": ends_by.isoformat()},
        )
        return redirect("members_dues_runs:detail", run.pk)


class DuesRunDetailView(RefusingViewMixin, TemplateView):
    """A run's progress (the page reloads itself while it works), then its summary
    and its renewals."""

    allowed = staticmethod(can_view_runs)
    refusal = _SEE_RUNS
    index_crumb = ("members_dues_runs:index", gettext_lazy("Dues runs"))
    template_name = "members/admin/join/dues_run_detail.html"
    page_title = gettext_lazy("Dues run")
    header_icon = "calendar"
    per_page = 50
    refresh_seconds = 3

    def load(self, **kwargs) -> None:
        self.run = get_object_or_404(
            DuesRun.objects.select_related("created_by"), pk=kwargs["pk"]
        )

    def get_page_subtitle(self):
        return str(self.run)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.run
        user = self.request.user
        working = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
        renewals = run.renewals.select_related(
            "membership__person",
            "membership__organisation",
            "membership__type",
            "order",
        ).order_by("pk")
        page = Paginator(renewals, self.per_page).get_page(self.request.GET.get("p"))
        may_see_orders = user.has_perm("shop.view_order")
        context.update(
            run=run,
            working=working,
            refresh_seconds=self.refresh_seconds if working else None,
            amount=money_display(run.amount, _currency()),
            page=page,
            renewals=[
                {
                    "renewal": renewal,
                    "amount": money_display(
                        renewal.amount, renewal.membership.type.currency
                    ),
                    "order_url": (
                        reverse("shop_orders:inspect", args=[renewal.order_id])
                        if renewal.order_id and may_see_orders
                        else None
                    ),
                }
                for renewal in page
            ],
            letters_url=(
                _optional_url("shop_letters_to_post")
                if run.by_post and user.has_perm("shop.view_invoice")
                else None
            ),
            orders_url=self.orders_url() if may_see_orders and run.invoiced else None,
        )
        return context

    def orders_url(self) -> str | None:
        """The shop's order list, limited to the days the run made its orders."""
        base = _optional_url("shop_orders:index")
        if base is None or self.run.started_at is None:
            return base
        started = timezone.localdate(self.run.started_at)
        finished = timezone.localdate(self.run.finished_at or timezone.now())
        query = {
            "created_at_after": started.isoformat(),
            "created_at_before": finished.isoformat(),
        }
        return f"{base}?{urlencode(query)}"


@hooks.register("register_permissions")
def register_dues_permissions():
    """Starting and seeing dues runs, and seeing renewals, can be given to a group
    in Settings › Groups (the pre-made roles have them; see ``admin_roles``)."""
    return Permission.objects.filter(
        content_type__app_label="members",
        codename__in=["add_duesrun", "view_duesrun", "view_renewal"],
    )


class DuesRunViewSet(SimpleViewSet):
    name = "members_dues_runs"
    url_prefix = "register/dues-runs"
    icon = "calendar"
    menu_label = gettext_lazy("Dues runs")
    menu_order = 370
    allowed = staticmethod(can_view_runs)

    def get_urlpatterns(self):
        return [
            path("", DuesRunIndexView.as_view(), name="index"),
            path("start/", DuesRunStartView.as_view(), name="start"),
            path("<int:pk>/", DuesRunDetailView.as_view(), name="detail"),
        ]


# --- Chapter fees and discount rules --------------------------------------------------


class ChapterFeeIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("type", "chapter")


class ChapterFeeViewSet(ModelViewSet):
    """A chapter's own fee for a type; it applies to the chapters below it too."""

    model = MembershipPrice
    name = "register_chapter_fees"
    url_prefix = "register/chapter-fees"
    icon = "tag"
    menu_label = gettext_lazy("Chapter fees")
    menu_order = 510
    add_to_reference_index = False
    copy_view_enabled = False
    search_backend_name = None
    search_fields = ["chapter__name", "type__name"]
    index_view_class = ChapterFeeIndexView
    list_display = ["type", "chapter", "fee"]
    list_filter = ["type", "chapter"]
    form_fields = ["type", "chapter", "fee"]


class DiscountRuleForm(WagtailAdminModelForm):
    """Says at the fields what is wrong, rather than only that the rule is
    invalid: a percentage or an amount off (one of them), a number the condition
    needs (the model's ``clean``)."""

    def clean(self):
        data = super().clean()
        percent, amount = data.get("percent"), data.get("amount")
        if percent is not None and amount is not None:
            message = _("Give either a percentage or an amount off, not both.")
            self.add_error("percent", message)
            self.add_error("amount", message)
        elif (
            percent is None
            and amount is None
            and "percent" not in self.errors
            and "amount" not in self.errors
        ):
            self.add_error("percent", _("Give a percentage or an amount off."))
        return data


class DiscountRuleIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("type")


class DiscountRuleViewSet(ModelViewSet):
    """Reductions of a type's fee for those who meet a condition."""

    model = DiscountRule
    name = "register_discount_rules"
    url_prefix = "register/discount-rules"
    icon = "tag"
    menu_label = gettext_lazy("Discount rules")
    menu_order = 520
    add_to_reference_index = False
    copy_view_enabled = False
    search_backend_name = None
    search_fields = ["name"]
    index_view_class = DiscountRuleIndexView
    list_display = [
        "name",
        "type",
        "condition",
        "value",
        "applies_to",
        "percent",
        "amount",
        "is_active",
    ]
    list_filter = ["type", "condition", "applies_to", "is_active"]
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("type"), FieldPanel("name")]),
            FieldRowPanel([FieldPanel("condition"), FieldPanel("value")]),
            FieldPanel("applies_to"),
            FieldRowPanel(
                [FieldPanel("percent"), FieldPanel("amount")],
                heading=gettext_lazy("Reduction (one of the two)"),
            ),
            FieldPanel("is_active"),
        ],
        base_form_class=DiscountRuleForm,
    )


__all__ = [
    "ChapterFeeViewSet",
    "DiscountRuleViewSet",
    "DuesRunViewSet",
]
