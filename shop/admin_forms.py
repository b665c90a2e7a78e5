"""Forms of the billing back office: what a clerk types before an action on an order
(issue an invoice, record a payment, credit, refund) and the invoice series form.

The forms only check the input; the rules (what may be invoiced, how much may be
refunded) are ``shop.billing``'s, whose ``BillingError`` the views show as they are.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.widgets import AdminDateInput

from .models import InvoiceSeries

MIN_AMOUNT = Decimal("0.01")


def _amount_field(label, help_text=""):
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(MIN_AMOUNT)],
        help_text=help_text,
        error_messages={
            "invalid": _("Enter an amount such as 450.00."),
            "max_decimal_places": _("An amount has at most two decimals (øre)."),
        },
    )


class InvoiceIssueForm(forms.Form):
    """Which series to number the invoice in, and when it falls due."""

    series = forms.ModelChoiceField(
        label=_("Series"),
        queryset=InvoiceSeries.objects.all(),
        required=False,
        empty_label=_("The default series"),
    )
    due_date = forms.DateField(
        label=_("Due date"),
        required=False,
        widget=AdminDateInput,
        help_text=_("Leave empty to use the series' or billing settings' terms."),
    )

    def clean_due_date(self):
        due_date = self.cleaned_data.get("due_date")
        if due_date and due_date < timezone.localdate():
            raise ValidationError(_("The due date cannot be in the past."))
        return due_date


class ManualPaymentForm(forms.Form):
    """Money received outside the payment providers: cash, a transfer without KID."""

    amount = _amount_field(_("Amount received"))
    note = forms.CharField(
        label=_("What was it?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For the books, e.g. “Cash at the annual meeting, receipt 17”."),
        error_messages={"required": _("Say what the payment was, for the books.")},
    )

    def __init__(self, *args, currency: str = "", outstanding=None, **kwargs):
        super().__init__(*args, **kwargs)
        if currency:
            self.fields["amount"].label = _("Amount received (%(currency)s)") % {
                "currency": currency
            }
        if outstanding is not None and outstanding > 0:
            self.fields["amount"].initial = outstanding


class CreditNoteForm(forms.Form):
    """Why an invoice is reversed; printed on the credit note."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        help_text=_("Printed on the credit note, e.g. “Member left before the year”."),
        error_messages={"required": _("Say why the invoice is credited.")},
    )


class RefundForm(forms.Form):
    """How much of a confirmed payment goes back, and why."""

    amount = _amount_field(_("Amount to refund"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        error_messages={"required": _("Say why the money is refunded.")},
    )

    def __init__(self, *args, currency: str = "", refundable=None, **kwargs):
        super().__init__(*args, **kwargs)
        if currency:
            self.fields["amount"].label = _("Amount to refund (%(currency)s)") % {
                "currency": currency
            }
        if refundable is not None:
            self.fields["amount"].initial = refundable
            self.fields["amount"].help_text = _("At most %(amount)s %(currency)s.") % {
                "amount": refundable,
                "currency": currency,
            }


class RefundPaidBackForm(forms.Form):
    """The clerk confirms a refund the provider could not make was paid back by hand."""

    paid_back = forms.BooleanField(
        label=_("I have paid this back by bank transfer"),
        required=True,
        error_messages={
            "required": _(
                "Tick the box once the money has been paid back, or come back later."
            )
        },
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=255,
        required=False,
        help_text=_("E.g. the date and the account it was paid to."),
    )


#: Fields of a series that issued invoices depend on: their printed number and KID.
FROZEN_ONCE_USED = ("prefix", "kid_prefix", "kid_method", "kid_length")


class InvoiceSeriesForm(WagtailAdminModelForm):
    """A series' form. Once a series has numbered an invoice, what that invoice's
    number and KID are made of (prefix, KID prefix, method, length) stays as it is,
    since issued invoices are never changed; only one series is the default."""

    def clean(self):
        cleaned = super().clean()
        series = self.instance
        if series.pk and (series.invoice_set.exists() or series.counters.exists()):
            for name in FROZEN_ONCE_USED:
                if name in self.changed_data:
                    self.add_error(
                        name,
                        _(
                            "Invoices have been numbered in this series, so this "
                            "cannot change. Make a new series instead."
                        ),
                    )
        if cleaned.get("is_default"):
            others = InvoiceSeries.objects.filter(is_default=True)
            if series.pk:
                others = others.exclude(pk=series.pk)
            other = others.first()
            if other is not None:
                self.add_error(
                    "is_default",
                    _(
                        "“%(series)s” is the default series. Untick it there first, "
                        "so there is only ever one."
                    )
                    % {"series": other},
                )
        return cleaned
