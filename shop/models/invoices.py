"""Invoices and credit notes, their numbering, dispute threads and reminders."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel

from ..kid import MOD10, MOD11
from ..money import ZERO
from .orders import MONEY, Order


class InvoiceSeries(ClusterableModel):
    """A numbering series with its own KID rules and reminder schedule.

    Numbers are gapless per series and year (``F2026-000001``, ``F2026-000002`` …);
    credit notes take their numbers from the same series.
    """

    class KidMethod(models.TextChoices):
        MOD10 = MOD10, _("MOD10 (Luhn)")
        MOD11 = MOD11, _("MOD11")

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(
        _("prefix"),
        max_length=8,
        unique=True,
        help_text=_("Letters before the number, e.g. F for F2026-000001."),
    )
    kid_prefix = models.PositiveIntegerField(
        _("KID prefix"),
        unique=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text=_("1–99; starts every KID of this series so series never collide."),
    )
    kid_method = models.CharField(
        _("KID check digit"),
        max_length=8,
        choices=KidMethod.choices,
        default=KidMethod.MOD10,
        help_text=_("As agreed with the bank."),
    )
    kid_length = models.PositiveIntegerField(
        _("KID length"),
        default=15,
        validators=[MinValueValidator(11), MaxValueValidator(25)],
        help_text=_("Number of digits, check digit included, as agreed with the bank."),
    )
    payment_terms_days = models.PositiveIntegerField(
        _("payment terms (days)"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use the billing settings' terms."),
    )
    is_default = models.BooleanField(
        _("default series"),
        default=False,
        help_text=_("Used when an invoice is issued without naming a series."),
    )

    class Meta:
        verbose_name = _("invoice series")
        verbose_name_plural = _("invoice series")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.prefix})"


class ReminderStep(models.Model):
    """One step of a series' reminder schedule: so many days after the due date,
    remind the customer (optionally with a fee) or hand the invoice to staff."""

    class Action(models.TextChoices):
        REMIND = "remind", _("Send a reminder")
        STAFF = "staff", _("Hand over to staff")

    series = ParentalKey(
        InvoiceSeries,
        verbose_name=_("series"),
        on_delete=models.CASCADE,
        related_name="reminder_steps",
    )
    days_after_due = models.PositiveIntegerField(_("days after the due date"))
    action = models.CharField(
        _("action"), max_length=8, choices=Action.choices, default=Action.REMIND
    )
    fee = models.DecimalField(
        _("reminder fee"),
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Added to the invoice's order as its own line; 0 for none."),
        **MONEY,
    )
    new_due_days = models.PositiveIntegerField(
        _("new payment terms (days)"), default=14
    )

    class Meta:
        verbose_name = _("reminder step")
        verbose_name_plural = _("reminder steps")
        ordering = ["series", "days_after_due"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "days_after_due"], name="shop_reminder_step_unique"
            )
        ]

    def __str__(self):
        return f"{self.days_after_due}: {self.get_action_display()}"


class InvoiceNumberCounter(models.Model):
    """The last number given in a series and year; locked while a number is taken,
    so two invoices issued at the same moment never share a number or leave a gap."""

    series = models.ForeignKey(
        InvoiceSeries, on_delete=models.PROTECT, related_name="counters"
    )
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year"], name="shop_counter_series_year"
            )
        ]

    def __str__(self):
        return f"{self.series.prefix}{self.year}: {self.last_number}"


class Invoice(models.Model):
    """An invoice or credit note, frozen when issued: seller, buyer, lines, KID.

    Nothing on an issued invoice is edited; a correction is a credit note, a
    negated copy that points at the invoice it corrects.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("invoice status", "Open")
        PAID = "paid", _("Paid")
        CREDITED = "credited", _("Credited")
        CLOSED = "closed", _("Closed")

    class Delivery(models.TextChoices):
        EMAIL = "email", _("E-mail")
        POST = "post", _("Letter")

    order = models.ForeignKey(
        Order,
        verbose_name=pgettext_lazy("purchase", "order"),
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=Kind.choices, default=Kind.INVOICE
    )
    series = models.ForeignKey(
        InvoiceSeries, verbose_name=_("series"), on_delete=models.PROTECT
    )
    year = models.PositiveIntegerField(_("year"))
    number = models.PositiveIntegerField(_("number"))
    credits = models.OneToOneField(
        "self",
        verbose_name=_("credits invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_note",
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.OPEN,
        db_index=True,
    )
    kid = models.CharField(_("KID"), max_length=25, null=True, blank=True, unique=True)
    issued_at = models.DateTimeField(_("issued"))
    issue_date = models.DateField(_("invoice date"))
    due_date = models.DateField(_("due date"), db_index=True)
    currency = models.CharField(_("currency"), max_length=3)
    total = models.DecimalField(_("total"), **MONEY)
    vat_total = models.DecimalField(_("of which VAT"), **MONEY)
    seller = models.JSONField(_("seller"), default=dict)
    buyer_name = models.CharField(_("buyer"), max_length=255)
    buyer_email = models.EmailField(_("buyer's e-mail"), blank=True)
    buyer_address = models.TextField(_("billing address"), blank=True)
    buyer_identifier = models.CharField(
        _("buyer's organisation number"), max_length=20, blank=True
    )
    delivery = models.CharField(
        _("delivery"), max_length=8, choices=Delivery.choices, default=Delivery.EMAIL
    )
    open_amount = models.BooleanField(
        _("open amount"),
        default=False,
        help_text=_("The payer may pay more than the total; the excess is a gift."),
    )
    reason = models.CharField(
        _("reason"),
        max_length=255,
        blank=True,
        help_text=_("Why a credit note was issued."),
    )
    sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    reminder_level = models.PositiveIntegerField(_("reminders sent"), default=0)
    handed_to_staff_at = models.DateTimeField(
        _("handed over to staff"), null=True, blank=True
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year", "number"], name="shop_invoice_number_unique"
            )
        ]

    def __str__(self):
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"{self.series.prefix}{self.year}-{self.number:06d}"

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE


class InvoiceLine(models.Model):
    """A line of an issued invoice, copied from the order when it was issued."""

    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.CASCADE,
        related_name="lines",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    description = models.CharField(_("description"), max_length=255)
    quantity = models.DecimalField(_("quantity"), max_digits=9, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2)
    total = models.DecimalField(_("amount"), **MONEY)
    vat_amount = models.DecimalField(_("VAT"), **MONEY)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position", "pk"]

    def __str__(self):
        return self.description


class InvoiceComment(models.Model):
    """A message in an invoice's dispute thread, from the member or from staff."""

    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.CASCADE,
        related_name="comments",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    from_staff = models.BooleanField(_("from staff"), default=False)
    body = models.TextField(_("message"))
    disputes = models.BooleanField(
        _("disputes the invoice"),
        default=False,
        help_text=_("The member says the invoice is wrong; reminders wait."),
    )
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("invoice comment")
        verbose_name_plural = _("invoice comments")
        ordering = ["invoice", "created_at", "pk"]

    def __str__(self):
        return self.body[:60]


class Reminder(models.Model):
    """A reminder sent for an unpaid invoice, or its hand-over to staff."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Letter")
        STAFF = "staff", _("Staff")

    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.CASCADE,
        related_name="reminders",
    )
    level = models.PositiveIntegerField(_("level"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    fee = models.DecimalField(_("reminder fee"), default=ZERO, **MONEY)
    new_due_date = models.DateField(_("new due date"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["invoice", "level"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "level"], name="shop_reminder_once_per_level"
            )
        ]

    def __str__(self):
        return f"{self.invoice} #{self.level}"
