"""The read-only lists of the Billing menu (invoices and payments) and the invoice
series, with the pieces every billing list shares.

Invoices and payments are made by ``shop.billing``, never typed in: their lists have
no "add", "edit" or "delete", only a search, filters, an export and a link to the
order (``shop.admin_orders``, whose order list is a ``ReadOnlyViewSet`` too).
Invoice series are edited here, with their reminder schedule; a series that
numbered an invoice is never deleted.
"""

from __future__ import annotations

from django.contrib.admin.utils import quote
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import BooleanFilter, ChoiceFilter, DateFromToRangeFilter
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, ObjectList
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import BooleanRadioSelect

from .admin_forms import InvoiceSeriesForm
from .models import Invoice, InvoiceNumberCounter, InvoiceSeries, Payment
from .providers import all_providers

#: The Billing submenu (shop/wagtail_hooks.py); each viewset's menu item goes there.
BILLING_MENU_HOOK = "register_billing_menu_item"

#: A cell starting with one of these is run as a formula by spreadsheet apps.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def money_display(amount, currency: str) -> str:
    """``amount`` with two decimals, formatted for the active language, and currency."""
    return f"{number_format(amount, 2, force_grouping=True)} {currency}"


def order_url(order_id) -> str:
    return reverse("shop_orders:inspect", args=[quote(order_id)])


# --- Shared by the billing lists ---------------------------------------------------


class BillingIndexView(generic.IndexView):
    """A read-only list: related rows fetched with the list (its query count does
    not grow with its length), exports that a spreadsheet will not run as formulas."""

    select_related = ()

    def get_base_queryset(self):
        queryset = super().get_base_queryset()
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        return queryset

    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        if isinstance(value, str) and value[:1] in FORMULA_PREFIXES:
            value = "'" + value
        return value


class ReadOnlyViewSet(ModelViewSet):
    """A list, an export and a page per row; nothing is added, edited or deleted."""

    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    search_backend_name = None  # the ORM, with search_fields
    index_view_class = BillingIndexView
    menu_hook = BILLING_MENU_HOOK
    list_per_page = 50
    select_related = ()

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for name in ("add", "edit", "delete", "history", "usage", "copy"):
            view_kwargs[f"{name}_url_name"] = None
        return view_kwargs

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(
            select_related=self.select_related, **kwargs
        )

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
        ]


def money_column(label=None, field="total"):
    return Column(
        field,
        label=label or gettext_lazy("Total"),
        accessor=lambda obj: money_display(getattr(obj, field), obj.currency),
        sort_key=field,
    )


# --- Invoices and payments ---------------------------------------------------------


class InvoiceFilterSet(WagtailFilterSet):
    due_date = DateFromToRangeFilter(
        label=gettext_lazy("Due date"), widget=DateRangePickerWidget
    )
    overdue = BooleanFilter(
        label=gettext_lazy("Overdue"),
        method="filter_overdue",
        widget=BooleanRadioSelect,
    )

    class Meta:
        model = Invoice
        fields = ["status", "kind", "series", "due_date", "overdue"]

    def filter_overdue(self, queryset, name, value):
        overdue = {"status": Invoice.Status.OPEN, "due_date__lt": timezone.localdate()}
        if value:
            return queryset.filter(**overdue)
        return queryset.exclude(**overdue)


def _to_order(instance) -> str:
    return order_url(instance.order_id)


class InvoiceIndexView(BillingIndexView):
    """Invoices are found by number as printed (F2026-000017), KID or buyer."""

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        term = self.search_query.strip()
        found = super().search_queryset(queryset)
        number = _parse_display_number(term)
        if number is not None:
            prefix, year, value = number
            found = found | queryset.filter(
                series__prefix__iexact=prefix, year=year, number=value
            )
        elif term.isdigit():
            found = found | queryset.filter(number=int(term))
        return found


def _parse_display_number(term: str):
    """("F", 2026, 17) from "F2026-000017", or None."""
    head, dash, tail = term.rpartition("-")
    if not dash or not tail.isdigit() or len(head) < 5 or not head[-4:].isdigit():
        return None
    return head[:-4], int(head[-4:]), int(tail)


class InvoiceViewSet(ReadOnlyViewSet):
    model = Invoice
    name = "shop_invoices"
    url_prefix = "billing/invoices"
    icon = "doc-full-inverse"
    menu_label = gettext_lazy("Invoices")
    menu_order = 200
    index_view_class = InvoiceIndexView
    select_related = ("series",)
    search_fields = ["kid", "buyer_name", "buyer_email"]
    filterset_class = InvoiceFilterSet
    ordering = "-issued_at"
    list_display = [
        TitleColumn(
            "number",
            label=gettext_lazy("Number"),
            accessor="display_number",
            sort_key="number",
            get_url=_to_order,
        ),
        "buyer_name",
        "kid",
        money_column(),
        "due_date",
        "status",
        "kind",
    ]
    list_export = [
        "display_number",
        "get_kind_display",
        "issue_date",
        "due_date",
        "buyer_name",
        "buyer_email",
        "kid",
        "currency",
        "total",
        "vat_total",
        "get_status_display",
        "reminder_level",
    ]
    export_headings = {
        "display_number": gettext_lazy("Number"),
        "get_kind_display": gettext_lazy("Kind"),
        "get_status_display": gettext_lazy("Status"),
    }
    export_filename = "invoices"


def _provider_choices():
    choices = {"manual": _("Manual")}
    for provider in all_providers():
        choices[provider.identifier] = str(provider.verbose_name)
    return list(choices.items())


class PaymentFilterSet(WagtailFilterSet):
    provider = ChoiceFilter(label=gettext_lazy("Method"), choices=_provider_choices)
    created_at = DateFromToRangeFilter(
        label=gettext_lazy("Started"), widget=DateRangePickerWidget
    )

    class Meta:
        model = Payment
        fields = ["provider", "state", "created_at"]


class PaymentViewSet(ReadOnlyViewSet):
    model = Payment
    name = "shop_payments"
    url_prefix = "billing/payments"
    icon = "form"
    menu_label = gettext_lazy("Payments")
    menu_order = 300
    select_related = ("order",)
    search_fields = ["order__code", "order__customer_name", "gateway_id"]
    filterset_class = PaymentFilterSet
    ordering = "-created_at"
    list_display = [
        TitleColumn(
            "order",
            label=gettext_lazy("Order"),
            accessor="order.code",
            sort_key="order__code",
            get_url=_to_order,
        ),
        Column(
            "customer", label=gettext_lazy("Customer"), accessor="order.customer_name"
        ),
        "provider",
        "state",
        money_column(gettext_lazy("Amount"), "amount"),
        "gateway_id",
        "created_at",
    ]
    list_export = [
        "order.code",
        "order.customer_name",
        "provider",
        "get_state_display",
        "currency",
        "amount",
        "gateway_id",
        "created_at",
        "confirmed_at",
        "note",
    ]
    export_headings = {
        "order.code": gettext_lazy("Order"),
        "order.customer_name": gettext_lazy("Customer"),
        "get_state_display": gettext_lazy("State"),
    }
    export_filename = "payments"


# --- Invoice series ----------------------------------------------------------------


class SeriesIndexView(generic.IndexView):
    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .annotate(
                has_invoices=Exists(Invoice.objects.filter(series=OuterRef("pk"))),
                has_counters=Exists(
                    InvoiceNumberCounter.objects.filter(series=OuterRef("pk"))
                ),
            )
        )

    def get_delete_url(self, instance):
        if instance.has_invoices or instance.has_counters:
            return None
        return super().get_delete_url(instance)


class SeriesEditView(generic.EditView):
    def get_delete_url(self):
        if _series_used(self.object):
            return None
        return super().get_delete_url()


class SeriesDeleteView(generic.DeleteView):
    """Deletes only a series that never numbered an invoice."""

    def dispatch(self, request, *args, **kwargs):
        if _series_used(self.object):
            messages.error(
                request,
                _(
                    "“%(series)s” has numbered invoices and is kept with them. It "
                    "can be left unused, but not deleted."
                )
                % {"series": self.object},
            )
            return redirect(self.edit_url_name, self.object.pk)
        return super().dispatch(request, *args, **kwargs)


def _series_used(series) -> bool:
    return Invoice.objects.filter(series=series).exists() or series.counters.exists()


class InvoiceSeriesViewSet(ModelViewSet):
    model = InvoiceSeries
    name = "shop_invoice_series"
    url_prefix = "billing/invoice-series"
    icon = "list-ol"
    menu_label = gettext_lazy("Invoice series")
    menu_order = 400
    menu_hook = BILLING_MENU_HOOK
    add_to_reference_index = False
    copy_view_enabled = False
    search_backend_name = None
    search_fields = ["name", "prefix"]
    index_view_class = SeriesIndexView
    edit_view_class = SeriesEditView
    delete_view_class = SeriesDeleteView
    list_display = ["name", "prefix", "kid_prefix", "kid_method", "is_default"]
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("name"), FieldPanel("prefix")]),
            FieldRowPanel(
                [
                    FieldPanel("kid_prefix"),
                    FieldPanel("kid_method"),
                    FieldPanel("kid_length"),
                ],
                heading=gettext_lazy("KID"),
            ),
            FieldRowPanel([FieldPanel("payment_terms_days"), FieldPanel("is_default")]),
            InlinePanel(
                "reminder_steps",
                heading=gettext_lazy("Reminder schedule"),
                label=gettext_lazy("Step"),
                panels=[
                    FieldRowPanel([FieldPanel("days_after_due"), FieldPanel("action")]),
                    FieldRowPanel([FieldPanel("fee"), FieldPanel("new_due_days")]),
                ],
            ),
        ],
        base_form_class=InvoiceSeriesForm,
    )


@hooks.register("register_admin_viewset")
def register_billing_list_viewsets():
    return [InvoiceViewSet(), PaymentViewSet(), InvoiceSeriesViewSet()]
