"""The public join form: one form for every membership type a join page offers.

The visitor picks a type with radio buttons; the fields an organisation type needs are
always in the form (a small script hides them for the other types) but are required
only when such a type is picked, which ``clean()`` checks. Nothing is stored here:
the view hands the cleaned details to ``members.joining.application_submit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import joining
from .models import COUNTRY_CHOICES, Chapter, MembershipType, age_on
from .pricing import PriceBook, PricingFacts
from .validators import clean_organisation_number

#: Nobody joining is older than this; a birth date further back is a typing mistake.
OLDEST_AGE = 120
ORGANISATION = MembershipType.Kind.ORGANISATION

PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date")
ADDRESS_FIELDS = ("postal_street", "postal_postcode", "postal_city", "postal_country")
ORGANISATION_FIELDS = (
    "organisation_name",
    "organisation_number",
    "organisation_email",
    "billing_email",
)


@dataclass
class TypeOption:
    """One membership type as the form shows it: its radio button and its price."""

    type: MembershipType
    quote: joining.Quote
    checked: bool
    needs_birth_date: bool

    @property
    def value(self) -> str:
        return str(self.type.pk)

    @property
    def id(self) -> str:
        return f"id_type_{self.type.pk}"

    @property
    def is_organisation(self) -> bool:
        return self.type.kind == ORGANISATION


def chapter_choices(chapters) -> list:
    """Active chapters for a select: each local chapter under its region (an
    ``optgroup``), the national and regional ones on their own."""
    chapters = list(chapters)
    by_path = {chapter.path: chapter for chapter in chapters}
    step = Chapter.steplen
    groups: dict[str, list] = {}
    choices: list = []
    for chapter in chapters:
        parent = by_path.get(chapter.path[:-step]) if chapter.depth > 1 else None
        if chapter.level == Chapter.Level.LOCAL and parent is not None:
            if parent.path not in groups:
                groups[parent.path] = []
                choices.append((parent.name, groups[parent.path]))
            groups[parent.path].append((chapter.pk, chapter.name))
        else:
            choices.append((chapter.pk, chapter.name))
    return choices


class JoinForm(forms.Form):
    """What a join page asks; the fields depend on the page's settings."""

    type = forms.ModelChoiceField(
        label=_("Membership"),
        queryset=MembershipType.objects.none(),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the membership you want."),
            "invalid_choice": _("Choose one of the memberships offered."),
        },
    )
    chapter = forms.TypedChoiceField(
        label=_("Chapter"),
        coerce=int,
        help_text=_("The local or regional unit you want to belong to."),
        error_messages={
            "required": _("Choose the chapter you want to join."),
            "invalid_choice": _("Choose one of the chapters in the list."),
        },
    )
    # Required only when an organisation joins: ``clean()`` drops their errors for
    # the other types.
    organisation_name = forms.CharField(
        label=_("Organisation name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
        error_messages={"required": _("Enter the name of the organisation.")},
    )
    organisation_number = forms.CharField(
        label=_("Organisation number"),
        max_length=30,
        help_text=_("Nine digits, as in the Brønnøysund Register Centre."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        error_messages={"required": _("Enter the organisation number.")},
    )
    organisation_email = forms.EmailField(
        label=_("Organisation e-mail"), max_length=254, required=False
    )
    billing_email = forms.EmailField(
        label=_("E-mail for invoices"),
        max_length=254,
        required=False,
        help_text=_("Leave empty to send invoices to the organisation e-mail."),
    )
    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
        error_messages={"required": _("Enter your first name.")},
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
        error_messages={"required": _("Enter your last name.")},
    )
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter your e-mail address."),
            "invalid": _("Enter an e-mail address like name@example.org."),
        },
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
        input_formats=["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"],
        error_messages={
            "invalid": _("Enter the date as day.month.year, e.g. 17.05.1990.")
        },
    )
    postal_street = forms.CharField(
        label=_("Street address"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
        error_messages={"required": _("Enter the street address.")},
    )
    postal_postcode = forms.CharField(
        label=_("Postcode"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
        error_messages={"required": _("Enter the postcode.")},
    )
    postal_city = forms.CharField(
        label=_("City"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
        error_messages={"required": _("Enter the city.")},
    )
    postal_country = forms.ChoiceField(
        label=_("Country"), choices=COUNTRY_CHOICES, initial="NO"
    )
    gift_amount = forms.DecimalField(
        label=_("Extra gift"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text=_("If you like, add a gift on top of the fee."),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
        error_messages={
            "min_value": _("The gift cannot be negative."),
            "max_decimal_places": _("Give the gift in whole øre: at most 2 decimals."),
            "invalid": _("Enter the gift as a number, e.g. 200."),
        },
    )
    ref = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args, page, user=None, chapter_hint=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page
        self.user = user
        self.types = list(page.offered_types())
        self.fields["type"].queryset = page.offered_types()
        self.consents = list(page.consents.all())
        self._needs_birth_date = {t.pk: joining.needs_birth_date(t) for t in self.types}
        if len(self.types) == 1 and not self.is_bound:
            self.initial.setdefault("type", self.types[0].pk)

        if page.default_chapter_id:
            del self.fields["chapter"]
        else:
            chapters = Chapter.objects.filter(is_active=True).order_by("path")
            self.fields["chapter"].choices = [
                ("", _("Choose a chapter")),
                *chapter_choices(chapters),
            ]
            if chapter_hint is not None and not self.is_bound:
                self.initial.setdefault("chapter", chapter_hint.pk)

        if not page.ask_phone:
            del self.fields["phone"]
        if not page.ask_address:
            for name in ADDRESS_FIELDS:
                del self.fields[name]
        if not (page.ask_birth_date or any(self._needs_birth_date.values())):
            del self.fields["birth_date"]
        elif not page.ask_birth_date:
            self.fields["birth_date"].help_text = _(
                "Some memberships cost less at some ages; we need your birth date to "
                "give you the right price."
            )
        if not (page.ask_gift and any(t.allows_open_amount for t in self.types)):
            del self.fields["gift_amount"]
        if not any(t.kind == ORGANISATION for t in self.types):
            for name in ORGANISATION_FIELDS:
                del self.fields[name]

        for consent in self.consents:
            self.fields[self.consent_field_name(consent)] = forms.BooleanField(
                label=consent.text,
                required=consent.required,
                error_messages={
                    "required": _("You must agree to this to join."),
                },
            )

    # --- What the template needs ------------------------------------------------------

    @staticmethod
    def consent_field_name(consent) -> str:
        return f"consent_{consent.pk}"

    def consent_fields(self):
        return [self[self.consent_field_name(consent)] for consent in self.consents]

    def bound_fields(self, names):
        return [self[name] for name in names if name in self.fields]

    def person_fields(self):
        return self.bound_fields(PERSON_FIELDS)

    def address_fields(self):
        return self.bound_fields(ADDRESS_FIELDS)

    def organisation_fields(self):
        return self.bound_fields(ORGANISATION_FIELDS)

    @property
    def offers_organisation_types(self) -> bool:
        return "organisation_name" in self.fields

    @property
    def offers_person_types(self) -> bool:
        return any(t.kind != ORGANISATION for t in self.types)

    def selected_type_id(self) -> int | None:
        value = self["type"].value()
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    def selected_chapter(self) -> Chapter | None:
        if self.page.default_chapter_id:
            return self.page.default_chapter
        value = self["chapter"].value()
        try:
            return Chapter.objects.filter(is_active=True, pk=int(value)).first()
        except (TypeError, ValueError):
            return None

    def type_options(self, *, recruited: bool = False) -> list[TypeOption]:
        """Each offered type with its price in the chosen chapter (the type's own
        fee until one is chosen), with any discount every joiner gets."""
        chapter = self.selected_chapter()
        selected = self.selected_type_id()
        # One price book for every type (``joining.quote`` loads one per call).
        book = PriceBook()
        facts = PricingFacts(on=timezone.localdate(), recruited=recruited)
        options = []
        for membership_type in self.types:
            # Until a chapter is chosen: the type's own fee, which most charge.
            quote = book.quote(membership_type, chapter.pk if chapter else None, facts)
            options.append(
                TypeOption(
                    type=membership_type,
                    quote=quote,
                    checked=membership_type.pk == selected,
                    needs_birth_date=self._needs_birth_date[membership_type.pk],
                )
            )
        return options

    # --- Validation -------------------------------------------------------------------

    def clean_first_name(self):
        return self.cleaned_data["first_name"].strip()

    def clean_last_name(self):
        return self.cleaned_data["last_name"].strip()

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_chapter(self):
        pk = self.cleaned_data["chapter"]
        chapter = Chapter.objects.filter(is_active=True, pk=pk).first()
        if chapter is None:
            raise ValidationError(
                _("Choose one of the chapters in the list."), code="invalid_choice"
            )
        return chapter

    def clean_birth_date(self):
        born = self.cleaned_data.get("birth_date")
        if born is None:
            return None
        today = timezone.localdate()
        if born >= today:
            raise ValidationError(
                _("The birth date must be in the past."), code="future"
            )
        if age_on(born, today) > OLDEST_AGE or born < date(1900, 1, 1):
            raise ValidationError(
                _("Check the year: that would make you more than %(age)s years old.")
                % {"age": OLDEST_AGE},
                code="implausible",
            )
        return born

    def clean_ref(self):
        return self.cleaned_data.get("ref", "").strip()

    def clean(self):
        cleaned = super().clean()
        membership_type = cleaned.get("type")
        if membership_type is None or membership_type.kind != ORGANISATION:
            for name in ORGANISATION_FIELDS:
                cleaned[name] = ""
                self.errors.pop(name, None)
        if membership_type is None:
            return cleaned
        if self.page.default_chapter_id:
            cleaned["chapter"] = self.page.default_chapter

        if "birth_date" in self.fields and not cleaned.get("birth_date"):
            needed = self.page.ask_birth_date or self._needs_birth_date.get(
                membership_type.pk
            )
            if needed and "birth_date" not in self.errors:
                self.add_error(
                    "birth_date",
                    ValidationError(_("Enter your birth date."), code="required"),
                )

        if membership_type.kind == ORGANISATION:
            self._clean_organisation(cleaned)

        if not membership_type.allows_open_amount:
            cleaned["gift_amount"] = Decimal("0")
            self.errors.pop("gift_amount", None)
        elif cleaned.get("gift_amount") is None:
            cleaned["gift_amount"] = Decimal("0")
        return cleaned

    def _clean_organisation(self, cleaned):
        number = cleaned.get("organisation_number")
        if not number:
            return
        try:
            cleaned["organisation_number"] = clean_organisation_number(number, "NO")
        except ValidationError as error:
            self.add_error("organisation_number", error)

    # --- What the services get --------------------------------------------------------

    @property
    def is_organisation(self) -> bool:
        membership_type = self.cleaned_data.get("type")
        return membership_type is not None and membership_type.kind == ORGANISATION

    def applicant_details(self, *, language: str) -> joining.ApplicantDetails:
        data = self.cleaned_data
        details = {
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "email": data["email"],
            "phone": data.get("phone", "") or "",
            "birth_date": data.get("birth_date"),
            "language": language,
        }
        if not self.is_organisation and "postal_street" in self.fields:
            details.update(
                postal_street=data["postal_street"],
                postal_postcode=data["postal_postcode"],
                postal_city=data["postal_city"],
                postal_country=data.get("postal_country") or "NO",
            )
        return joining.ApplicantDetails(**details)

    def organisation_details(self) -> joining.OrganisationDetails | None:
        if not self.is_organisation:
            return None
        data = self.cleaned_data
        details = {
            "name": data["organisation_name"],
            "organisation_number": data["organisation_number"],
            "email": data.get("organisation_email") or "",
            "billing_email": data.get("billing_email") or "",
        }
        if "postal_street" in self.fields:
            details.update(
                postal_street=data["postal_street"],
                postal_postcode=data["postal_postcode"],
                postal_city=data["postal_city"],
            )
        return joining.OrganisationDetails(**details)

    def answers(self) -> dict:
        """What is kept on the application: the consents as worded when given."""
        return {
            "join_page_id": self.page.pk,
            "consents": [
                {
                    "text": consent.text,
                    "required": consent.required,
                    "given": bool(
                        self.cleaned_data.get(self.consent_field_name(consent))
                    ),
                }
                for consent in self.consents
            ],
        }
