"""Invoice with KID: the payer gets an invoice (PDF, e-mail or letter) and pays by
bank transfer; the bank's OCR file confirms the payment (``shop.bankfiles``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .base import PaymentProvider, RedirectRequired, register


@register
class InvoiceProvider(PaymentProvider):
    identifier = "invoice"
    verbose_name = _("Invoice")
    description = _("Pay by bank transfer with the KID on the invoice.")

    def is_enabled(self) -> bool:
        return True

    def start_payment(self, *, payment, request):
        from ..billing import invoice_issue, payment_pending
        from ..paylinks import pay_token

        invoice = invoice_issue(order=payment.order)
        payment.invoice = invoice
        payment.save(update_fields=["invoice"])
        # Pending until the bank file brings the money; bankfiles confirms this
        # attempt (or records a new payment if the invoice was paid otherwise).
        payment_pending(payment=payment)
        raise RedirectRequired(
            reverse("shop:invoice_issued", kwargs={"token": pay_token(payment.order)})
        )
