"""Organisation numbers checked with python-stdnum where a validator exists."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.dk import cvr
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fi import ytunnus
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr

ORGANISATION_NUMBER_VALIDATORS = {
    "NO": no_orgnr,
    "SE": se_orgnr,
    "FI": ytunnus,
    "DK": cvr,
}


def clean_organisation_number(number: str, country: str) -> str:
    """The number in its compact form; ValidationError with a clear message if invalid."""
    number = (number or "").strip()
    module = ORGANISATION_NUMBER_VALIDATORS.get((country or "").upper())
    if not number or module is None:
        return number
    try:
        return module.validate(number)
    except StdnumError as exc:
        raise ValidationError(
            _("%(number)s is not a valid organisation number for %(country)s.")
            % {"number": number, "country": country.upper()},
            code="invalid_organisation_number",
        ) from exc
