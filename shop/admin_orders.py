"""The orders of the billing back office in the Wagtail admin, under the Billing
menu: the order list, the order page and the clerk's actions on an order.

Orders are made by ``shop.billing``, never typed in: their list has no "add",
"edit" or "delete". The order page shows everything about an order and offers the
clerk's actions (issue an invoice, record a manual payment, credit an invoice,
refund a payment, confirm a refund paid back by hand), each a form posted to a view
that checks the model permission and calls the service. The invoice and payment
lists and the invoice series are in ``shop.admin_lists``.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from django_filters import ChoiceFilter, DateFromToRangeFilter
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from . import billing
from .admin_forms import (
    CreditNoteForm,
    InvoiceIssueForm,
    ManualPaymentForm,
    RefundForm,
    RefundPaidBackForm,
)
from .admin_lists import ReadOnlyViewSet, money_column, money_display, order_url
from .billing import BillingError
from .models import Invoice, Order, OrderStatusChange, Payment, Refund
from .money import ZERO, money
from .providers import ProviderError, get_provider

#: Admin URL names of the invoice's PDF, resend and dispute thread views (each takes
#: the invoice's pk). They live in another module; a link is left out if its view
#: is not installed.
INVOICE_LINKS = (
    ("shop_invoice_pdf", gettext_lazy("PDF")),
    ("shop_invoice_resend", gettext_lazy("Send again")),
    ("shop_invoice_thread", gettext_lazy("Messages")),
)


def _optional_url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# --- Order list and page ----------------------------------------------------------


def _currency_choices():
    return [
        (code, code)
        for code in Order.objects.order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    ]


class OrderFilterSet(WagtailFilterSet):
    created_at = DateFromToRangeFilter(
        label=gettext_lazy("Created"), widget=DateRangePickerWidget
    )
    currency = ChoiceFilter(label=gettext_lazy("Currency"), choices=_currency_choices)

    class Meta:
        model = Order
        fields = ["status", "created_at", "currency"]


class OrderInspectView(generic.InspectView):
    """The order page: lines, totals, invoices, payments and refunds, the status
    history, and the actions the user may take."""

    template_name = "shop/admin/orders/order_inspect.html"

    def get_object(self, queryset=None):
        orders = Order.objects.select_related("created_by").prefetch_related(
            "lines",
            Prefetch(
                "status_changes",
                queryset=OrderStatusChange.objects.select_related("by"),
            ),
            Prefetch(
                "invoices",
                queryset=Invoice.objects.select_related(
                    "series", "credits__series"
                ).order_by("issued_at", "pk"),
            ),
            Prefetch(
                "payments",
                queryset=Payment.objects.prefetch_related(
                    Prefetch("refunds", queryset=Refund.objects.order_by("pk"))
                ).order_by("created_at", "pk"),
            ),
        )
        return get_object_or_404(orders, pk=self.pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        order = self.object
        user = self.request.user
        can_act = user.has_perm("shop.change_order")
        can_invoice = can_act and user.has_perm("shop.add_invoice")
        can_pay = can_act and user.has_perm("shop.add_payment")
        can_refund = can_act and user.has_perm("shop.add_refund")
        payments = list(order.payments.all())
        invoices = list(order.invoices.all())
        paid = money(
            sum(
                (p.amount for p in payments if p.state == Payment.State.CONFIRMED), ZERO
            )
            - sum((p.refunded_amount for p in payments), ZERO)
        )
        has_open_invoice = any(
            inv.kind == Invoice.Kind.INVOICE
            and inv.status in (Invoice.Status.OPEN, Invoice.Status.PAID)
            for inv in invoices
        )
        is_open = order.status == Order.Status.OPEN
        context.update(
            order=order,
            lines=list(order.lines.all()),
            status_changes=list(order.status_changes.all()),
            total_display=money_display(order.total, order.currency),
            vat_display=money_display(order.vat_total, order.currency),
            paid_display=money_display(paid, order.currency),
            outstanding_display=money_display(
                max(ZERO, order.total - paid) if is_open else ZERO, order.currency
            ),
            invoices=[self._invoice_row(inv, can_invoice) for inv in invoices],
            payments=[self._payment_row(p, can_refund) for p in payments],
            issue_invoice_url=(
                reverse("shop_orders:issue_invoice", args=[order.pk])
                if can_invoice and is_open and not has_open_invoice and order.total > 0
                else None
            ),
            manual_payment_url=(
                reverse("shop_orders:manual_payment", args=[order.pk])
                if can_pay and is_open
                else None
            ),
        )
        return context

    def _invoice_row(self, invoice, can_invoice):
        links = []
        for name, label in INVOICE_LINKS:
            url = _optional_url(name, invoice.pk)
            if url:
                links.append({"url": url, "label": label})
        can_credit = (
            can_invoice
            and invoice.kind == Invoice.Kind.INVOICE
            and invoice.status != Invoice.Status.CREDITED
        )
        return {
            "invoice": invoice,
            "total_display": money_display(invoice.total, invoice.currency),
            "links": links,
            "credit_url": (
                reverse("shop_orders:credit_note", args=[invoice.pk])
                if can_credit
                else None
            ),
        }

    def _payment_row(self, payment, can_refund):
        provider = get_provider(payment.provider)
        refunds = list(payment.refunds.all())
        committed = sum(
            (r.amount for r in refunds if r.state != Refund.State.FAILED), ZERO
        )
        refundable = money(payment.amount - committed)
        return {
            "payment": payment,
            "provider_name": provider.verbose_name if provider else payment.provider,
            "amount_display": money_display(payment.amount, payment.currency),
            "refunds": [
                {
                    "refund": refund,
                    "amount_display": money_display(refund.amount, payment.currency),
                    "confirm_url": (
                        reverse("shop_orders:refund_paid_back", args=[refund.pk])
                        if can_refund and refund.state == Refund.State.PENDING
                        else None
                    ),
                }
                for refund in refunds
            ],
            "refund_url": (
                reverse("shop_orders:refund", args=[payment.pk])
                if can_refund
                and payment.state == Payment.State.CONFIRMED
                and refundable > 0
                else None
            ),
        }


# --- Actions on an order -------------------------------------------------------------


class OrderActionView(WagtailAdminTemplateMixin, FormView):
    """One action on an order: GET shows the form, POST calls ``shop.billing``.

    Refused with 403 unless the user has every permission in ``permissions``. A
    ``BillingError`` is shown as it is (in the user's language) and the form is
    shown again with what was typed.
    """

    permissions: tuple[str, ...] = ("shop.change_order",)
    template_name = "shop/admin/orders/action.html"
    header_icon = "doc-full"
    submit_label = gettext_lazy("Save")
    explanation = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perms(self.permissions):
            # A real 403 (not Wagtail's redirect home): the user may well see the
            # order, but this action is not theirs.
            return TemplateResponse(
                request,
                "shop/admin/orders/forbidden.html",
                {"page_title": self.page_title, "header_icon": "warning"},
                status=403,
            )
        self.load(kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def load(self, pk) -> None:
        self.order = get_object_or_404(Order, pk=pk)

    def get_page_subtitle(self):
        return self.order.code

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("shop_orders:index"), "label": _("Orders")},
            {"url": order_url(self.order.pk), "label": str(self.order)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_success_url(self):
        return order_url(self.order.pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            order=self.order,
            total_display=money_display(self.order.total, self.order.currency),
            outstanding_display=money_display(
                billing.order_outstanding(self.order), self.order.currency
            ),
            explanation=self.explanation,
            submit_label=self.submit_label,
            cancel_url=self.get_success_url(),
            action_url=self.request.path,
        )
        return context

    def run(self, form) -> str:
        """Do the action; return the success message. May raise ``BillingError``."""
        raise NotImplementedError

    def form_valid(self, form):
        try:
            message = self.run(form)
        except BillingError as error:
            messages.error(self.request, " ".join(error.messages))
            return self.form_invalid(form)
        messages.success(self.request, message)
        return redirect(self.get_success_url())


class InvoiceIssueView(OrderActionView):
    permissions = ("shop.change_order", "shop.add_invoice")
    form_class = InvoiceIssueForm
    page_title = gettext_lazy("Issue invoice")
    submit_label = gettext_lazy("Issue invoice")

    @property
    def explanation(self):
        return _(
            "The invoice freezes the order's lines, the buyer and the seller as they "
            "are now, with a number and a KID. It cannot be changed afterwards; a "
            "mistake is corrected with a credit note."
        )

    def run(self, form):
        existing = self.order.invoices.filter(
            kind=Invoice.Kind.INVOICE,
            status__in=[Invoice.Status.OPEN, Invoice.Status.PAID],
        ).first()
        invoice = billing.invoice_issue(
            order=self.order,
            series=form.cleaned_data["series"],
            due_date=form.cleaned_data["due_date"],
            by=self.request.user,
        )
        if existing is not None and existing.pk == invoice.pk:
            return _("The order already has invoice %(number)s.") % {
                "number": invoice.display_number
            }
        return _("Invoice %(number)s issued, KID %(kid)s, due %(due)s.") % {
            "number": invoice.display_number,
            "kid": invoice.kid,
            "due": date_format(invoice.due_date, "SHORT_DATE_FORMAT"),
        }


class ManualPaymentView(OrderActionView):
    permissions = ("shop.change_order", "shop.add_payment")
    form_class = ManualPaymentForm
    page_title = gettext_lazy("Record a manual payment")
    submit_label = gettext_lazy("Record payment")

    @property
    def explanation(self):
        return _(
            "For money received outside the payment services: cash, or a bank "
            "transfer without KID. The order is paid when its payments reach its "
            "total."
        )

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.update(
            currency=self.order.currency,
            outstanding=billing.order_outstanding(self.order),
        )
        return kwargs

    def run(self, form):
        invoice = self.order.invoices.filter(
            kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN
        ).first()
        payment = billing.payment_record_manual(
            order=self.order,
            amount=form.cleaned_data["amount"],
            note=form.cleaned_data["note"],
            invoice=invoice,
            by=self.request.user,
        )
        self.order.refresh_from_db()
        message = _("Payment of %(amount)s recorded.") % {
            "amount": money_display(payment.amount, payment.currency)
        }
        if self.order.status == Order.Status.PAID:
            return message + " " + _("The order is paid.")
        return (
            message
            + " "
            + _("Still to pay: %(amount)s.")
            % {
                "amount": money_display(
                    billing.order_outstanding(self.order), self.order.currency
                )
            }
        )


class CreditNoteView(OrderActionView):
    permissions = ("shop.change_order", "shop.add_invoice")
    form_class = CreditNoteForm
    page_title = gettext_lazy("Issue credit note")
    submit_label = gettext_lazy("Issue credit note")

    def load(self, pk):
        self.invoice = get_object_or_404(
            Invoice.objects.select_related("order", "series"), pk=pk
        )
        self.order = self.invoice.order

    def get_page_subtitle(self):
        return self.invoice.display_number

    @property
    def explanation(self):
        text = _(
            "The credit note reverses invoice %(number)s (%(total)s) in full. "
        ) % {
            "number": self.invoice.display_number,
            "total": money_display(self.invoice.total, self.invoice.currency),
        }
        if self.order.status == Order.Status.OPEN:
            return text + _("The unpaid order is cancelled with it.")
        return text + _(
            "The order stays paid until the money is refunded: refund the payment "
            "afterwards."
        )

    def run(self, form):
        note = billing.credit_note_issue(
            invoice=self.invoice,
            reason=form.cleaned_data["reason"],
            by=self.request.user,
        )
        return _("Credit note %(number)s issued for invoice %(invoice)s.") % {
            "number": note.display_number,
            "invoice": self.invoice.display_number,
        }


class RefundView(OrderActionView):
    """Refund (part of) a confirmed payment through its provider. A provider that
    cannot refund leaves the refund pending, and the clerk is asked to pay it back
    by bank transfer and confirm it (``RefundPaidBackView``)."""

    permissions = ("shop.change_order", "shop.add_refund")
    form_class = RefundForm
    page_title = gettext_lazy("Refund")
    submit_label = gettext_lazy("Refund")

    def load(self, pk):
        self.payment = get_object_or_404(Payment.objects.select_related("order"), pk=pk)
        self.order = self.payment.order

    def refundable(self):
        committed = sum(
            (
                r.amount
                for r in self.payment.refunds.all()
                if r.state != Refund.State.FAILED
            ),
            ZERO,
        )
        return max(ZERO, money(self.payment.amount - committed))

    @property
    def explanation(self):
        provider = get_provider(self.payment.provider)
        return _("Payment of %(amount)s by %(method)s on %(date)s.") % {
            "amount": money_display(self.payment.amount, self.payment.currency),
            "method": provider.verbose_name if provider else self.payment.provider,
            "date": date_format(
                timezone.localtime(self.payment.created_at), "SHORT_DATE_FORMAT"
            ),
        }

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.update(currency=self.payment.currency, refundable=self.refundable())
        return kwargs

    def form_valid(self, form):
        try:
            refund = billing.refund_create(
                payment=self.payment,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                by=self.request.user,
            )
        except BillingError as error:
            messages.error(self.request, " ".join(error.messages))
            return self.form_invalid(form)
        amount = money_display(refund.amount, self.payment.currency)
        provider = get_provider(self.payment.provider)
        try:
            if provider is None:
                raise ProviderError(
                    _("This payment method cannot refund automatically.")
                )
            provider.refund(refund=refund)
        except ProviderError as error:
            messages.warning(
                self.request,
                _(
                    "%(reason)s Pay %(amount)s back to the payer by bank transfer, "
                    "then confirm it here."
                )
                % {"reason": error.message_for_user, "amount": amount},
            )
            return redirect("shop_orders:refund_paid_back", refund.pk)
        refund.refresh_from_db()
        if refund.state == Refund.State.DONE:
            messages.success(
                self.request, _("%(amount)s refunded.") % {"amount": amount}
            )
        elif refund.state == Refund.State.FAILED:
            messages.error(
                self.request,
                _("The refund of %(amount)s failed at the payment service.")
                % {"amount": amount},
            )
        else:
            messages.success(
                self.request,
                _(
                    "Refund of %(amount)s requested; the payment service confirms "
                    "it shortly."
                )
                % {"amount": amount},
            )
        return redirect(self.get_success_url())


class RefundPaidBackView(OrderActionView):
    """Confirm that a pending refund was paid back by hand, or withdraw it."""

    permissions = ("shop.change_order", "shop.add_refund")
    form_class = RefundPaidBackForm
    page_title = gettext_lazy("Confirm refund paid back")
    submit_label = gettext_lazy("Confirm")
    template_name = "shop/admin/orders/refund_paid_back.html"

    def load(self, pk):
        self.refund = get_object_or_404(
            Refund.objects.select_related("payment__order"), pk=pk
        )
        self.order = self.refund.payment.order

    @property
    def explanation(self):
        return _(
            "%(amount)s of the payment by %(method)s is to go back to the payer "
            "(reason: %(reason)s). The payment service cannot do it, so pay it "
            "back by bank transfer, then tick the box."
        ) % {
            "amount": money_display(self.refund.amount, self.refund.payment.currency),
            "method": self.refund.payment.provider,
            "reason": self.refund.reason or "–",
        }

    def get(self, request, *args, **kwargs):
        if self.refund.state != Refund.State.PENDING:
            return self._not_pending()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.refund.state != Refund.State.PENDING:
            return self._not_pending()
        if "withdraw" in request.POST:
            billing.refund_failed(
                refund=self.refund,
                raw={"withdrawn_by": request.user.pk, "note": "Not paid back"},
            )
            messages.success(
                request,
                _("The refund was withdrawn; nothing was paid back."),
            )
            return redirect(self.get_success_url())
        return super().post(request, *args, **kwargs)

    def _not_pending(self):
        messages.warning(
            self.request,
            _("This refund is already “%(state)s”.")
            % {"state": self.refund.get_state_display()},
        )
        return redirect(self.get_success_url())

    def run(self, form):
        billing.refund_done(
            refund=self.refund,
            raw={
                "paid_back": "bank transfer",
                "note": form.cleaned_data["note"],
                "confirmed_by": self.request.user.pk,
            },
            by=self.request.user,
        )
        return _("Refund of %(amount)s recorded as paid back by bank transfer.") % {
            "amount": money_display(self.refund.amount, self.refund.payment.currency)
        }


class OrderViewSet(ReadOnlyViewSet):
    model = Order
    name = "shop_orders"
    url_prefix = "billing/orders"
    icon = "doc-full"
    menu_label = gettext_lazy("Orders")
    menu_order = 100
    inspect_view_class = OrderInspectView
    search_fields = ["code", "customer_name", "customer_email"]
    filterset_class = OrderFilterSet
    ordering = "-created_at"
    list_display = [
        "code",
        "customer_name",
        money_column(),
        "status",
        "created_at",
    ]
    list_export = [
        "code",
        "customer_name",
        "customer_email",
        "currency",
        "total",
        "vat_total",
        "get_status_display",
        "created_at",
        "paid_at",
    ]
    export_headings = {"get_status_display": gettext_lazy("Status")}
    export_filename = "orders"
    inspect_view_fields = [
        "status",
        "customer_name",
        "customer_email",
        "customer_phone",
        "billing_address",
        "currency",
        "created_at",
        "created_by",
        "paid_at",
        "note",
    ]

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path(
                "<int:pk>/issue-invoice/",
                InvoiceIssueView.as_view(),
                name="issue_invoice",
            ),
            path(
                "<int:pk>/manual-payment/",
                ManualPaymentView.as_view(),
                name="manual_payment",
            ),
            path(
                "invoices/<int:pk>/credit-note/",
                CreditNoteView.as_view(),
                name="credit_note",
            ),
            path("payments/<int:pk>/refund/", RefundView.as_view(), name="refund"),
            path(
                "refunds/<int:pk>/paid-back/",
                RefundPaidBackView.as_view(),
                name="refund_paid_back",
            ),
        ]


@hooks.register("register_admin_viewset")
def register_order_viewset():
    return OrderViewSet()
