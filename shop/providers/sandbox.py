"""The sandbox: a clearly labelled local pay page that approves or declines, so the
whole flow works offline in the demo and in tests. Refused in production."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .base import PaymentProvider, RedirectRequired, register


@register
class SandboxProvider(PaymentProvider):
    identifier = "sandbox"
    verbose_name = _("Test payment (sandbox)")
    description = _("No money moves. For trying the site out.")

    def is_enabled(self) -> bool:
        return settings.GUILDHALL_SANDBOX_PAYMENTS

    def start_payment(self, *, payment, request):
        from ..billing import payment_pending

        payment_pending(payment=payment, gateway_id=f"sandbox-{payment.uuid}")
        raise RedirectRequired(
            reverse("shop:sandbox", kwargs={"payment_uuid": payment.uuid})
        )
