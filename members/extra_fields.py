"""Fields staff define themselves for persons and organisations (see ``ExtraField``).

``extra_form_fields`` makes ordinary Django form fields of the definitions, so values
are validated like built-in fields, in the user's language; ``extra_to_json`` and
``extra_from_json`` convert between cleaned values and what is stored in ``extra``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ExtraField

PREFIX = "extra__"


def definitions(entity: str) -> list[ExtraField]:
    return list(ExtraField.objects.filter(entity=entity, is_active=True))


def form_field(definition: ExtraField) -> forms.Field:
    common = {
        "label": definition.label,
        "required": definition.required and definition.field_type != "boolean",
        "help_text": definition.help_text,
    }
    kind = definition.field_type
    if kind == ExtraField.FieldType.NUMBER:
        return forms.DecimalField(max_digits=15, decimal_places=4, **common)
    if kind == ExtraField.FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == ExtraField.FieldType.BOOLEAN:
        return forms.BooleanField(**common)
    if kind == ExtraField.FieldType.CHOICE:
        choices = [("", _("—"))] + [(c, c) for c in definition.choice_list()]
        return forms.ChoiceField(choices=choices, **common)
    return forms.CharField(max_length=500, **common)


def extra_form_fields(entity: str) -> dict[str, forms.Field]:
    """Form fields named ``extra__<key>`` for the entity's active definitions."""
    return {f"{PREFIX}{d.key}": form_field(d) for d in definitions(entity)}


def extra_to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        normalised = value.normalize()
        return (
            int(normalised) if normalised == normalised.to_integral() else float(value)
        )
    if isinstance(value, date):
        return value.isoformat()
    return value


def extra_from_json(definition: ExtraField, value: Any) -> Any:
    if value in (None, ""):
        return None
    if definition.field_type == ExtraField.FieldType.DATE:
        return date.fromisoformat(value)
    if definition.field_type == ExtraField.FieldType.NUMBER:
        return Decimal(str(value))
    return value


def extra_initial(entity: str, stored: dict) -> dict[str, Any]:
    return {
        f"{PREFIX}{d.key}": extra_from_json(d, stored.get(d.key))
        for d in definitions(entity)
    }


def extra_merge(stored: dict, cleaned_data: dict) -> dict:
    """The record's ``extra`` with the form's values put in; keys of retired fields
    are kept, so nothing already stored is lost."""
    merged = dict(stored or {})
    for name, value in cleaned_data.items():
        if name.startswith(PREFIX):
            key = name[len(PREFIX) :]
            if value in (None, "") and not isinstance(value, bool):
                merged.pop(key, None)
            else:
                merged[key] = extra_to_json(value)
    return merged
