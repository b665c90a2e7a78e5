"""The seller's details printed on every invoice, edited by staff in the admin."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from stdnum.no import kontonr, orgnr
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting


def validate_bank_account(value: str) -> None:
    if value and not kontonr.is_valid(value):
        raise ValidationError(
            _("%(value)s is not a valid Norwegian bank account number."),
            params={"value": value},
        )


def validate_organisation_number(value: str) -> None:
    if value and not orgnr.is_valid(value):
        raise ValidationError(
            _("%(value)s is not a valid Norwegian organisation number."),
            params={"value": value},
        )


@register_setting(icon="form")
class BillingSettings(BaseGenericSetting):
    """Who sends the invoices and where the money goes. Frozen on each invoice."""

    seller_name = models.CharField(
        _("seller's name"), max_length=255, default="Guildhall"
    )
    organisation_number = models.CharField(
        _("organisation number"),
        max_length=20,
        blank=True,
        validators=[validate_organisation_number],
    )
    vat_registered = models.BooleanField(
        _("registered for VAT"),
        default=False,
        help_text=_('Invoices then show "MVA" after the organisation number.'),
    )
    address = models.TextField(_("postal address"), blank=True)
    email = models.EmailField(_("invoice e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    bank_account = models.CharField(
        _("bank account"),
        max_length=20,
        blank=True,
        validators=[validate_bank_account],
        help_text=_("Where members pay invoices with KID, e.g. 1234.56.78903."),
    )
    payment_terms_days = models.PositiveIntegerField(
        _("payment terms (days)"), default=14
    )
    pay_link_days = models.PositiveIntegerField(
        _("pay links valid for (days)"),
        default=120,
        help_text=_("How long the personal pay link in an invoice e-mail works."),
    )
    invoice_footer = models.TextField(_("invoice footer"), blank=True)

    class Meta:
        verbose_name = _("billing")

    def __str__(self):
        return str(self._meta.verbose_name)

    def frozen(self) -> dict:
        """The seller as it is printed on an invoice issued now."""
        return {
            "name": self.seller_name,
            "organisation_number": self.organisation_number,
            "vat_registered": self.vat_registered,
            "address": self.address,
            "email": self.email,
            "phone": self.phone,
            "bank_account": self.bank_account,
            "footer": self.invoice_footer,
        }
