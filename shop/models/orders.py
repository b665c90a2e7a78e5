"""Orders: what a customer owes, line by line, and every change of its status."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..money import ZERO, default_currency, money, vat_included

MONEY = {"max_digits": 12, "decimal_places": 2}

#: Letters and digits that cannot be mistaken for each other when read aloud.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_order_code() -> str:
    # Ten characters of a 32-letter alphabet are 50 random bits, five per letter:
    # the same codes as ten secrets.choice calls, drawn at once (the dues run makes
    # hundreds of thousands).
    bits = secrets.randbits(50)
    return "".join(CODE_ALPHABET[(bits >> shift) & 31] for shift in range(0, 50, 5))


class Order(models.Model):
    """One purchase: membership dues, an event fee, shop goods or a service.

    Its lines point at what was bought in the app that owns it. The status changes
    only through ``shop.billing`` (allowed transitions, recorded history); an order is
    paid when its confirmed payments minus refunds reach its total.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting payment")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    code = models.CharField(
        _("order number"),
        max_length=16,
        unique=True,
        default=new_order_code,
        editable=False,
        help_text=_("The reference the customer sees and quotes."),
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.OPEN,
        editable=False,
        db_index=True,
    )
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    total = models.DecimalField(_("total"), default=ZERO, editable=False, **MONEY)
    vat_total = models.DecimalField(
        _("of which VAT"), default=ZERO, editable=False, **MONEY
    )

    customer_type = models.ForeignKey(
        ContentType,
        verbose_name=_("customer type"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    customer_id = models.PositiveBigIntegerField(
        _("customer id"), null=True, blank=True
    )
    customer = GenericForeignKey("customer_type", "customer_id")
    customer_name = models.CharField(_("customer"), max_length=255)
    customer_email = models.EmailField(_("e-mail"), blank=True)
    customer_phone = models.CharField(_("phone"), max_length=40, blank=True)
    billing_address = models.TextField(
        _("billing address"),
        blank=True,
        help_text=_("As it should appear on the invoice, one line per line."),
    )
    customer_identifier = models.CharField(
        _("national identity or organisation number"),
        max_length=20,
        blank=True,
        help_text=_(
            "Only for gifts reported to the tax authority, if the donor gave it."
        ),
    )
    language = models.CharField(
        _("language"), max_length=10, default=settings.LANGUAGE_CODE
    )
    by_post = models.BooleanField(
        _("invoices by post"),
        default=False,
        help_text=_("Send invoices and reminders as letters instead of by e-mail."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        help_text=_("The account that may see this order in My Account."),
    )
    open_amount = models.BooleanField(
        _("open amount"),
        default=False,
        help_text=_(
            "The payer may pay more than the total; the excess is kept as a gift."
        ),
    )
    return_url = models.CharField(
        _("after payment"),
        max_length=500,
        blank=True,
        help_text=_("Where on this site the payer is sent once the order is paid."),
    )
    note = models.TextField(_("internal note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("purchase", "order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer_type", "customer_id"])]

    def __str__(self):
        return f"{self.code} {self.customer_name}"

    @property
    def is_payable(self) -> bool:
        return self.status == self.Status.OPEN and self.total > 0

    def recalculate(self) -> None:
        """Set total and VAT from the lines (the lines must be saved)."""
        lines = list(self.lines.all())
        self.total = money(sum((line.total for line in lines), ZERO))
        self.vat_total = money(sum((line.vat_amount for line in lines), ZERO))


class OrderLine(models.Model):
    """One thing bought: a description, quantity, unit price and VAT rate.

    Prices are gross (VAT included), as members see them. ``item`` points at what was
    bought in the app that owns it (a membership, an event registration, a product).
    """

    class Kind(models.TextChoices):
        ITEM = "item", _("Item")
        REMINDER_FEE = "reminder_fee", _("Reminder fee")
        GIFT = "gift", _("Gift")

    order = models.ForeignKey(
        Order,
        verbose_name=pgettext_lazy("purchase", "order"),
        on_delete=models.CASCADE,
        related_name="lines",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(
        _("kind"), max_length=16, choices=Kind.choices, default=Kind.ITEM
    )
    description = models.CharField(_("description"), max_length=255)
    quantity = models.DecimalField(
        _("quantity"), max_digits=9, decimal_places=2, default=Decimal(1)
    )
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    vat_rate = models.DecimalField(
        _("VAT rate (%)"), max_digits=5, decimal_places=2, default=ZERO
    )
    total = models.DecimalField(_("amount"), editable=False, **MONEY)
    item_type = models.ForeignKey(
        ContentType,
        verbose_name=_("item type"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    item_id = models.PositiveBigIntegerField(_("item id"), null=True, blank=True)
    item = GenericForeignKey("item_type", "item_id")

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "position", "pk"]
        indexes = [models.Index(fields=["item_type", "item_id"])]

    def __str__(self):
        return self.description

    def save(self, *args, **kwargs):
        self.total = money(self.quantity * self.unit_price)
        super().save(*args, **kwargs)

    @property
    def vat_amount(self) -> Decimal:
        return vat_included(self.total, self.vat_rate)


class OrderStatusChange(models.Model):
    """A recorded change of an order's status: from what, to what, who and when."""

    order = models.ForeignKey(
        Order,
        verbose_name=pgettext_lazy("purchase", "order"),
        on_delete=models.CASCADE,
        related_name="status_changes",
    )
    from_status = models.CharField(
        _("from"), max_length=16, choices=Order.Status.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=16, choices=Order.Status.choices)
    at = models.DateTimeField(_("when"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("order status change")
        verbose_name_plural = _("order status changes")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.order.code}: {self.from_status} → {self.to_status}"
