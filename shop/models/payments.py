"""Payment attempts, refunds, gateway events, bank files and gifts.

Every attempt to pay is its own row with an explicit state and the gateway's raw data;
every event from outside (webhook, callback, bank record) is stored once under its
gateway id, so that applying it twice is impossible rather than unlikely.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..money import ZERO
from .invoices import Invoice
from .orders import MONEY, Order


class Payment(models.Model):
    """One attempt to pay an order through one provider, with its state."""

    class State(models.TextChoices):
        CREATED = "created", _("Started")
        PENDING = "pending", _("Awaiting the provider")
        CONFIRMED = "confirmed", _("Confirmed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    uuid = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    order = models.ForeignKey(
        Order,
        verbose_name=pgettext_lazy("purchase", "order"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )
    provider = models.CharField(_("method"), max_length=32, db_index=True)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=State.choices,
        default=State.CREATED,
        db_index=True,
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    gateway_id = models.CharField(
        _("provider's reference"), max_length=255, blank=True, db_index=True
    )
    raw = models.JSONField(_("provider's data"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    message = models.CharField(
        _("message to the payer"),
        max_length=255,
        blank=True,
        help_text=_("Why the provider declined, in words the payer can act on."),
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "gateway_id"],
                condition=~Q(gateway_id=""),
                name="shop_payment_gateway_id_once",
            )
        ]

    def __str__(self):
        return f"{self.order.code} {self.provider} {self.amount} {self.currency}"

    @property
    def refunded_amount(self):
        return sum(
            (r.amount for r in self.refunds.all() if r.state == Refund.State.DONE),
            ZERO,
        )


class Refund(models.Model):
    """Money given back on a confirmed payment, whole or in part."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Refunded")
        FAILED = "failed", _("Failed")

    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    gateway_id = models.CharField(_("provider's reference"), max_length=255, blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    raw = models.JSONField(_("provider's data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.payment} −{self.amount}"


class GatewayEvent(models.Model):
    """An event received from outside (webhook, callback, bank record), stored once.

    The unique (provider, event id) makes a second delivery of the same event a no-op.
    """

    provider = models.CharField(_("source"), max_length=32)
    event_id = models.CharField(_("event id"), max_length=255)
    kind = models.CharField(_("type"), max_length=120, blank=True)
    payload = models.JSONField(_("content"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("gateway event")
        verbose_name_plural = _("gateway events")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="shop_gateway_event_once"
            )
        ]

    def __str__(self):
        return f"{self.provider} {self.event_id}"


class BankImport(models.Model):
    """An OCR giro file from the bank, imported once (by its content's hash)."""

    filename = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(_("checksum"), max_length=64, unique=True)
    transmission_number = models.CharField(_("transmission"), max_length=16, blank=True)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    transactions_count = models.PositiveIntegerField(_("transactions"), default=0)
    total = models.DecimalField(_("total"), default=ZERO, **MONEY)

    class Meta:
        verbose_name = _("bank file")
        verbose_name_plural = _("bank files")
        ordering = ["-imported_at", "-pk"]

    def __str__(self):
        return self.filename


class BankTransaction(models.Model):
    """One payment in a bank file and what became of it.

    Matched transactions book a payment on the invoice with that KID; unmatched,
    short and over-paying ones wait in the accounts clerk's queue until resolved.
    """

    class Outcome(models.TextChoices):
        MATCHED = "matched", _("Paid in full")
        SHORT = "short", _("Paid too little")
        OVER = "over", _("Paid too much")
        GIFT = "gift", _("Excess kept as a gift")
        UNMATCHED = "unmatched", _("No invoice with this KID")
        ALREADY_PAID = "already_paid", _("Invoice was already paid")
        RESOLVED = "resolved", _("Resolved by staff")

    #: Outcomes that need the accounts clerk.
    NEEDS_ATTENTION = (
        Outcome.SHORT,
        Outcome.OVER,
        Outcome.UNMATCHED,
        Outcome.ALREADY_PAID,
    )

    bank_import = models.ForeignKey(
        BankImport,
        verbose_name=_("bank file"),
        on_delete=models.PROTECT,
        related_name="transactions",
    )
    reference = models.CharField(
        _("bank reference"),
        max_length=80,
        unique=True,
        help_text=_("Identifies the transaction across files, so it is booked once."),
    )
    line_number = models.PositiveIntegerField(_("line"))
    kid = models.CharField(_("KID"), max_length=25, blank=True, db_index=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_on = models.DateField(_("date"))
    payer_account = models.CharField(_("payer's account"), max_length=20, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, db_index=True
    )
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_transactions",
    )
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_transaction",
    )
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("bank transaction")
        verbose_name_plural = _("bank transactions")
        ordering = ["-paid_on", "bank_import", "line_number"]

    def __str__(self):
        return f"{self.paid_on} {self.kid} {self.amount}"


class Gift(models.Model):
    """Money given beyond what was owed: an overpayment on an open-amount invoice
    or a donation line. Reported per donor and year to the tax authority."""

    donor_name = models.CharField(_("donor"), max_length=255)
    donor_identifier = models.CharField(
        _("national identity or organisation number"), max_length=20, blank=True
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    received_on = models.DateField(_("received"), db_index=True)
    order = models.ForeignKey(
        Order,
        verbose_name=pgettext_lazy("purchase", "order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gifts",
    )
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gifts",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("gift")
        verbose_name_plural = _("gifts")
        ordering = ["-received_on", "-pk"]

    def __str__(self):
        return f"{self.donor_name} {self.amount}"
