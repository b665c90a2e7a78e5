"""One interface for every way to pay, and the registry that finds them.

A provider starts a payment (usually by sending the payer somewhere), handles the
payer's return, handles the gateway's webhook, and refunds. It changes payments only
through ``shop.billing`` so that the rules (locking, idempotency, settling the order)
hold whichever provider is used.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from ..models import Payment, Refund


class ProviderError(Exception):
    """Something went wrong talking to the provider; the payer may try again."""

    def __init__(self, message_for_user: str = ""):
        super().__init__(message_for_user)
        self.message_for_user = message_for_user or str(
            _("The payment service did not answer. Please try again in a moment.")
        )


class RedirectRequired(Exception):
    """Send the payer to ``url`` (the gateway's page, or ours)."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


class PaymentDeclined(Exception):
    """The payment was refused; ``message_for_user`` says what the payer can do."""

    def __init__(self, message_for_user: str):
        super().__init__(message_for_user)
        self.message_for_user = message_for_user


class PaymentProvider:
    """Base class of payment providers. Subclasses set ``identifier`` and
    ``verbose_name`` and implement what they support."""

    identifier: str = ""
    verbose_name = ""
    #: Shown to the payer under the name on the pay page.
    description = ""
    #: Whether the payer can choose it on the pay page.
    public = True

    def is_enabled(self) -> bool:
        """Whether it is configured (keys present) and may be offered."""
        return False

    def start_payment(self, *, payment: Payment, request: HttpRequest) -> None:
        """Begin paying; raises ``RedirectRequired`` to send the payer on."""
        raise NotImplementedError

    def handle_return(self, *, payment: Payment, request: HttpRequest) -> Payment:
        """The payer came back from the gateway: find out what happened."""
        return payment

    def handle_webhook(self, request: HttpRequest) -> HttpResponse:
        """An event from the gateway. Verify it, record it once, apply it once."""
        return HttpResponse(status=404)

    def poll(self, *, payment: Payment) -> Payment:
        """Ask the gateway for the payment's state when no webhook came."""
        return payment

    def refund(self, *, refund: Refund) -> Refund:
        """Carry out a refund created by ``billing.refund_create``."""
        raise ProviderError(str(_("This payment method cannot refund automatically.")))


_registry: dict[str, PaymentProvider] = {}


def register(cls: type[PaymentProvider]) -> type[PaymentProvider]:
    """Class decorator: make a provider available under its identifier."""
    _registry[cls.identifier] = cls()
    return cls


def get_provider(identifier: str) -> PaymentProvider | None:
    return _registry.get(identifier)


def all_providers() -> list[PaymentProvider]:
    return list(_registry.values())


def enabled_providers() -> list[PaymentProvider]:
    """The providers a payer may choose, in the order they were registered."""
    return [p for p in _registry.values() if p.public and p.is_enabled()]
