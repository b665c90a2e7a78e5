"""Bank files in the admin's Billing menu: import an OCR giro file, the clerk's queue
of bank transactions that need attention (with their resolution), and the yearly
gift report for the tax authority.

Who may do what: importing needs ``shop.add_bankimport``; the transactions list needs
``shop.view_banktransaction`` or ``shop.change_banktransaction``, resolving needs
the latter; the gift report needs ``shop.view_gift``. Bank transactions are never
added, edited or deleted in the admin: they come from bank files and change only
through ``shop.bankfiles``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic import IndexView, InspectView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton
from wagtail.admin.widgets.button import MenuItem as ButtonMenuItem
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from .bankfiles import BankFileError, bank_file_import, bank_transaction_resolve
from .gifts import gift_report, gift_report_csv
from .models import BankImport, BankTransaction, Gift, Invoice
from .money import default_currency

#: Largest bank file accepted from the browser (a year of a national NGO's payments).
UPLOAD_MAX_BYTES = 50 * 1024 * 1024

Outcome = BankTransaction.Outcome


def can_import(user) -> bool:
    return user.is_active and user.has_perm("shop.add_bankimport")


def can_resolve(user) -> bool:
    return user.is_active and user.has_perm("shop.change_banktransaction")


def can_view_transactions(user) -> bool:
    return user.is_active and (
        user.has_perm("shop.view_banktransaction") or can_resolve(user)
    )


def can_view_gifts(user) -> bool:
    return user.is_active and user.has_perm("shop.view_gift")


class BankTransactionPolicy(ModelPermissionPolicy):
    """Bank transactions may be looked at; nobody adds, edits or deletes one in the
    admin (resolving has its own view and permission)."""

    def user_has_permission(self, user, action):
        if action == "view":
            return can_view_transactions(user)
        return False

    def users_with_any_permission(self, actions):
        if "view" not in actions:
            return self.auth_model._default_manager.none()
        return super().users_with_any_permission(["view", "change"])


register_permission_policy(
    BankTransaction, BankTransactionPolicy(BankTransaction), exact_class=True
)


class CheckedMixin:
    """Refuses the view (403) unless ``allowed(user)``."""

    allowed = staticmethod(can_import)

    def dispatch(self, request, *args, **kwargs):
        if not type(self).allowed(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class CheckedMenuItem(MenuItem):
    def __init__(self, *args, allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed = allowed

    def is_shown(self, request):
        return self.allowed(request.user)


# Import ---------------------------------------------------------------------------


class BankFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("OCR giro file"),
        help_text=gettext_lazy(
            "The file of payments with KID that the bank (Nets) sends, usually "
            "named OCR….txt. A file already imported is refused."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large; the limit is %(mb)s MB.")
                % {"mb": UPLOAD_MAX_BYTES // (1024 * 1024)}
            )
        return upload


class BankImportView(CheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """Upload an OCR giro file; shows what was booked, or why nothing was."""

    allowed = staticmethod(can_import)
    template_name = "shop/admin/bank/import.html"
    page_title = gettext_lazy("Import bank file")
    header_icon = "upload"

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=BankFileForm()))

    def post(self, request, *args, **kwargs):
        form = BankFileForm(request.POST, request.FILES)
        result = None
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = bank_file_import(
                    filename=upload.name, content=upload.read(), by=request.user
                )
            except BankFileError as exc:
                form.add_error("file", exc.messages)
        if result is None:
            messages.error(request, _("The file was not imported; nothing was booked."))
        else:
            messages.success(
                request,
                _("%(file)s imported: %(count)s payments booked.")
                % {"file": result.bank_import.filename, "count": result.booked},
            )
            form = BankFileForm()
        return self.render_to_response(self.get_context_data(form=form, result=result))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["recent"] = BankImport.objects.select_related("imported_by")[:10]
        context["queue_url"] = reverse("shop_bank_transactions:index")
        context["can_view_queue"] = can_view_transactions(self.request.user)
        context["currency"] = default_currency()
        return context


# The clerk's queue ----------------------------------------------------------------

ATTENTION = "attention"
ALL = "all"


def _show_choices():
    return [
        (ATTENTION, _("Needs attention")),
        (ALL, _("All")),
        *[(o.value, o.label) for o in Outcome],
    ]


class BankTransactionFilterSet(WagtailFilterSet):
    """Shows what needs attention unless asked otherwise."""

    show = django_filters.ChoiceFilter(
        label=gettext_lazy("Show"),
        choices=_show_choices,
        method="filter_show",
        empty_label=None,
        widget=forms.RadioSelect,
    )
    paid_on = django_filters.DateFromToRangeFilter(
        label=gettext_lazy("Date"), widget=DateRangePickerWidget
    )
    bank_import = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Bank file"), queryset=BankImport.objects.all()
    )

    class Meta:
        model = BankTransaction
        fields = ["show", "paid_on", "bank_import"]

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        if not data.get("show"):
            data["show"] = ATTENTION
        super().__init__(data, *args, **kwargs)
        self.form.initial["show"] = ATTENTION

    def filter_show(self, queryset, name, value):
        if value == ALL:
            return queryset
        if value == ATTENTION:
            return queryset.filter(outcome__in=BankTransaction.NEEDS_ATTENTION)
        return queryset.filter(outcome=value)


def _amount(query: str) -> Decimal | None:
    cleaned = query.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d{1,2})?", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


class BankTransactionIndexView(IndexView):
    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related("invoice__series", "bank_import", "resolved_by", "payment")
        )

    def search_queryset(self, queryset):
        """By KID (or part of it), bank reference, payer's account, or an amount
        written either way (1 250,50 or 1250.50)."""
        query = (self.search_query or "").strip()
        if not query:
            return queryset
        condition = (
            Q(kid__icontains=query)
            | Q(reference__icontains=query)
            | Q(payer_account__icontains=query)
        )
        amount = _amount(query)
        if amount is not None:
            condition |= Q(amount=amount)
        return queryset.filter(condition)

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if can_resolve(self.request.user) and instance.outcome in (
            BankTransaction.NEEDS_ATTENTION
        ):
            buttons.insert(
                0,
                ButtonMenuItem(
                    _("Resolve"),
                    url=reverse("shop_bank_transactions:resolve", args=[instance.pk]),
                    icon_name="tick",
                    priority=5,
                ),
            )
        return buttons


class BankTransactionInspectView(InspectView):
    def get_header_buttons(self):
        buttons = super().get_header_buttons()
        if can_resolve(self.request.user) and self.object.outcome in (
            BankTransaction.NEEDS_ATTENTION
        ):
            buttons.append(
                HeaderButton(
                    _("Resolve"),
                    url=reverse(
                        "shop_bank_transactions:resolve", args=[self.object.pk]
                    ),
                    icon_name="tick",
                )
            )
        return buttons


class BankTransactionViewSet(ModelViewSet):
    """The bank transactions, read-only, filtered to those needing attention."""

    model = BankTransaction
    name = "shop_bank_transactions"
    url_prefix = "billing/bank-transactions"
    icon = "list-ul"
    menu_label = gettext_lazy("Bank transactions")
    menu_order = 410
    index_view_class = BankTransactionIndexView
    inspect_view_class = BankTransactionInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_reference_index = False
    search_backend_name = None
    search_fields = ["kid"]
    filterset_class = BankTransactionFilterSet
    #: Never shown: there is no edit view (see ``get_urlpatterns``).
    form_fields = ["resolution"]
    list_display = [
        "paid_on",
        "amount",
        "kid",
        "outcome",
        "invoice",
        "payer_account",
        "bank_import",
    ]
    list_per_page = 50
    list_export = [
        "paid_on",
        "amount",
        "kid",
        "get_outcome_display",
        "invoice",
        "payer_account",
        "reference",
        "line_number",
        "bank_import",
        "resolution",
        "resolved_at",
        "resolved_by",
    ]
    export_headings = {
        "get_outcome_display": gettext_lazy("outcome"),
    }
    export_filename = "bank-transactions"
    inspect_view_fields = [
        "paid_on",
        "amount",
        "kid",
        "outcome",
        "invoice",
        "payment",
        "payer_account",
        "reference",
        "bank_import",
        "line_number",
        "resolution",
        "resolved_at",
        "resolved_by",
    ]

    def get_urlpatterns(self):
        return [
            pattern
            for pattern in super().get_urlpatterns()
            if pattern.name in ("index", "index_results", "inspect")
        ] + [path("resolve/<int:pk>/", ResolveView.as_view(), name="resolve")]


bank_transactions = BankTransactionViewSet()


@hooks.register("register_admin_viewset")
def register_bank_transactions():
    return bank_transactions


# Resolving ------------------------------------------------------------------------

INVOICE_NUMBER = re.compile(r"^([A-Za-z]+)(\d{4})-(\d+)$")


def invoice_by_number_or_kid(value: str) -> Invoice | None:
    """The invoice with this number (F2026-000012) or KID, or None."""
    value = value.strip().replace(" ", "")
    invoices = Invoice.objects.filter(kind=Invoice.Kind.INVOICE).select_related(
        "order", "series"
    )
    match = INVOICE_NUMBER.match(value)
    if match:
        prefix, year, number = match.groups()
        return invoices.filter(
            series__prefix__iexact=prefix, year=int(year), number=int(number)
        ).first()
    if value.isdigit():
        return invoices.filter(kid=value).first()
    return None


class ResolveForm(forms.Form):
    invoice = forms.CharField(
        label=gettext_lazy("Book on invoice"),
        required=False,
        max_length=40,
        help_text=gettext_lazy(
            "An invoice number (F2026-000012) or KID to book the money on. Leave "
            "empty if the money was paid back or dealt with otherwise."
        ),
    )
    note = forms.CharField(
        label=gettext_lazy("What was done"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For the books, e.g. “Refunded by bank transfer”."),
    )

    def clean_invoice(self):
        value = self.cleaned_data["invoice"].strip()
        if not value:
            return None
        invoice = invoice_by_number_or_kid(value)
        if invoice is None:
            raise forms.ValidationError(
                _("There is no invoice with the number or KID “%(value)s”.")
                % {"value": value}
            )
        return invoice


class ResolveView(CheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    allowed = staticmethod(can_resolve)
    template_name = "shop/admin/bank/resolve.html"
    page_title = gettext_lazy("Resolve bank transaction")
    header_icon = "tick"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(
            BankTransaction.objects.select_related(
                "invoice__series", "payment", "bank_import"
            ),
            pk=kwargs["pk"],
        )

    def get_page_subtitle(self):
        return str(self.object)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {
                "url": reverse("shop_bank_transactions:index"),
                "label": _("Bank transactions"),
            },
            {"url": "", "label": self.get_header_title()},
        ]

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=ResolveForm()))

    def post(self, request, *args, **kwargs):
        form = ResolveForm(request.POST)
        if form.is_valid():
            try:
                bank_transaction_resolve(
                    transaction=self.object,
                    by=request.user,
                    note=form.cleaned_data["note"],
                    invoice=form.cleaned_data["invoice"],
                )
            except BankFileError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(
                    request,
                    _("The payment of %(amount)s on %(date)s is resolved.")
                    % {"amount": self.object.amount, "date": self.object.paid_on},
                )
                return redirect("shop_bank_transactions:index")
        messages.error(request, _("The payment was not resolved; see below."))
        return self.render_to_response(self.get_context_data(form=form))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        booked = self.object.payment.amount if self.object.payment else Decimal(0)
        context.update(
            transaction=self.object,
            booked=booked,
            remaining=self.object.amount - booked,
        )
        return context


# Gift report ----------------------------------------------------------------------


class GiftReportForm(forms.Form):
    year = forms.TypedChoiceField(label=gettext_lazy("Year"), coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        this_year = timezone.localdate().year
        years = {d.year for d in Gift.objects.dates("received_on", "year")}
        years |= {this_year, this_year - 1}
        self.fields["year"].choices = [(y, str(y)) for y in sorted(years, reverse=True)]


class GiftReportView(CheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """A year's gifts per donor; numbers that do not validate are listed first for
    the clerk to correct; ``?format=csv`` downloads the file for the tax authority."""

    allowed = staticmethod(can_view_gifts)
    template_name = "shop/admin/bank/gift_report.html"
    page_title = gettext_lazy("Gift report")
    header_icon = "doc-full"

    def get(self, request, *args, **kwargs):
        data = request.GET if "year" in request.GET else None
        form = GiftReportForm(data, initial={"year": timezone.localdate().year - 1})
        year = form.cleaned_data["year"] if form.is_valid() else None
        if year is not None and request.GET.get("format") == "csv":
            response = HttpResponse(
                gift_report_csv(year), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="gifts-{year}.csv"'
            return response
        rows = gift_report(year) if year is not None else []
        return self.render_to_response(
            self.get_context_data(
                form=form,
                year=year,
                rows=rows,
                reportable=sum(1 for r in rows if r.reportable),
                needs_fixing=sum(1 for r in rows if r.kind == "invalid"),
                total=sum((r.total for r in rows), Decimal("0.00")),
            )
        )


# Registration ---------------------------------------------------------------------


@hooks.register("register_admin_urls")
def register_bank_urls():
    return [
        path("billing/bank-import/", BankImportView.as_view(), name="shop_bank_import"),
        path("billing/gift-report/", GiftReportView.as_view(), name="shop_gift_report"),
    ]


@hooks.register("register_billing_menu_item")
def register_import_menu_item():
    return CheckedMenuItem(
        gettext_lazy("Import bank file"),
        reverse("shop_bank_import"),
        name="shop_bank_import",
        icon_name="upload",
        order=400,
        allowed=can_import,
    )


@hooks.register("register_billing_menu_item")
def register_transactions_menu_item():
    return CheckedMenuItem(
        gettext_lazy("Bank transactions"),
        reverse("shop_bank_transactions:index"),
        name="shop_bank_transactions",
        icon_name="list-ul",
        order=410,
        allowed=can_view_transactions,
    )


@hooks.register("register_billing_menu_item")
def register_gift_report_menu_item():
    return CheckedMenuItem(
        gettext_lazy("Gift report"),
        reverse("shop_gift_report"),
        name="shop_gift_report",
        icon_name="doc-full",
        order=420,
        allowed=can_view_gifts,
    )
