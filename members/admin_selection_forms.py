"""Relations admin: the forms of the selection builder.

Each criterion of ``members.selections.CRITERIA`` the builder offers is one row
(``CriterionRowForm``) with its options as plain form fields; ``criteria_to_rows``
turns a stored criteria tree back into rows, or says it is too deep for the builder.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .admin_common import (
    chapters_for,
    committees_visible_to,
)
from .models import (
    CommitteeMembership,
    ExtraField,
    FunctionClassification,
    Membership,
    MembershipType,
    RelationType,
    Tag,
)
from .selections import CRITERIA

CRITERION_CHOICES = [
    ("membership", gettext_lazy("Membership (type, status, chapter, dates)")),
    ("chapter", gettext_lazy("Chapter (home chapter or a membership)")),
    ("postcode", gettext_lazy("Postcode range")),
    ("birth_date", gettext_lazy("Birth date or age")),
    ("tag", gettext_lazy("Tag")),
    ("relation_type", gettext_lazy("Relation type")),
    ("extra", gettext_lazy("Extra field")),
    ("function", gettext_lazy("Function at an organisation")),
    ("committee", gettext_lazy("Group or committee seat")),
]
assert {name for name, _label in CRITERION_CHOICES} <= set(CRITERIA)

_DATE = {"widget": forms.DateInput(attrs={"type": "date"})}


def _option_fields(user) -> dict[str, dict[str, forms.Field]]:
    """For each criterion: its options as plain form fields."""
    chapters = chapters_for(user)
    types = MembershipType.objects.all()

    def multi(queryset, label):
        return forms.ModelMultipleChoiceField(
            queryset=queryset,
            label=label,
            required=False,
            widget=forms.SelectMultiple(attrs={"size": 4}),
        )

    def months(label):
        return forms.IntegerField(label=label, required=False, min_value=1)

    def day(label):
        return forms.DateField(label=label, required=False, **_DATE)

    extra_keys = [
        (field.key, field.label)
        for field in ExtraField.objects.filter(
            entity=ExtraField.Entity.PERSON, is_active=True
        )
    ]
    return {
        "membership": {
            "type": multi(types, _("Membership type")),
            "status": forms.MultipleChoiceField(
                label=_("Status"),
                choices=Membership.Status.choices,
                required=False,
                widget=forms.SelectMultiple(attrs={"size": 4}),
            ),
            "chapter": multi(chapters, _("In chapter (or below)")),
            "started_within_months": months(_("Began in the last … months")),
            "started_from": day(_("Began on or after")),
            "started_to": day(_("Began on or before")),
            "ended_within_months": months(_("Ended in the last … months")),
            "ended_from": day(_("Ended on or after")),
            "ended_to": day(_("Ended on or before")),
            "granting_access": forms.BooleanField(
                label=_("Only memberships giving access now"), required=False
            ),
        },
        "chapter": {"chapter": multi(chapters, _("Chapters (and below)"))},
        "postcode": {
            "from": forms.CharField(label=_("From postcode"), required=False),
            "to": forms.CharField(label=_("To postcode"), required=False),
        },
        "birth_date": {
            "from": day(_("Born on or after")),
            "to": day(_("Born on or before")),
            "min_age": forms.IntegerField(
                label=_("At least … years old"), required=False, min_value=0
            ),
            "max_age": forms.IntegerField(
                label=_("At most … years old"), required=False, min_value=0
            ),
        },
        "tag": {"tag": multi(Tag.objects.all(), _("Tags"))},
        "relation_type": {
            "relation_type": multi(RelationType.objects.all(), _("Relation types"))
        },
        "extra": {
            "key": forms.ChoiceField(
                label=_("Extra field"),
                choices=[("", "---------"), *extra_keys],
                required=False,
            ),
            "equals": forms.CharField(label=_("Equals"), required=False),
            "from": forms.CharField(label=_("At least"), required=False),
            "to": forms.CharField(label=_("At most"), required=False),
        },
        "function": {
            "classification": multi(
                FunctionClassification.objects.all(), _("Function classification")
            ),
            "title": forms.CharField(
                label=_("Function title contains"), required=False
            ),
            "at_member_organisation": forms.BooleanField(
                label=_("Only at member organisations"), required=False
            ),
            "organisation_membership_type": multi(
                types, _("Organisation's membership type")
            ),
        },
        "committee": {
            "committee": multi(committees_visible_to(user), _("Groups and committees")),
            "current": forms.BooleanField(
                label=_("Only current terms"), required=False, initial=True
            ),
            "position": forms.MultipleChoiceField(
                label=_("Position"),
                choices=CommitteeMembership.Position.choices,
                required=False,
                widget=forms.SelectMultiple(attrs={"size": 4}),
            ),
        },
    }


def _extra_value(key: str, text: str):
    """An extra field's value as it is stored: numbers as numbers, yes/no as bool."""
    field = ExtraField.objects.filter(entity=ExtraField.Entity.PERSON, key=key).first()
    if field is None:
        return text
    if field.field_type == ExtraField.FieldType.NUMBER:
        try:
            number = float(text.replace(",", "."))
        except ValueError as exc:
            raise ValidationError(
                _("“%(value)s” is not a number.") % {"value": text}
            ) from exc
        return int(number) if number.is_integer() else number
    if field.field_type == ExtraField.FieldType.BOOLEAN:
        return text.strip().lower() in {"1", "true", "yes", "ja", "y"}
    return text


class CriterionRowForm(forms.Form):
    """One criterion: its kind, "not", and the options of that kind."""

    criterion = forms.ChoiceField(
        label=gettext_lazy("Criterion"),
        choices=[("", gettext_lazy("Choose a criterion…")), *CRITERION_CHOICES],
        required=False,
    )
    negate = forms.BooleanField(label=gettext_lazy("not"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.option_names: dict[str, list[str]] = {}
        for criterion, fields in _option_fields(user).items():
            self.option_names[criterion] = []
            for option, field in fields.items():
                name = f"{criterion}__{option}"
                self.fields[name] = field
                self.option_names[criterion].append(name)

    def chosen(self) -> str:
        if self.is_bound:
            return self.data.get(self.add_prefix("criterion"), "") or ""
        return self.initial.get("criterion", "") or ""

    def option_fields(self):
        return [self[name] for name in self.option_names.get(self.chosen(), [])]

    def to_node(self) -> dict | None:
        """This row as a criteria node, or None when it is empty."""
        data = self.cleaned_data
        criterion = data.get("criterion")
        if not criterion or data.get("DELETE"):
            return None
        node: dict = {"criterion": criterion}
        for name in self.option_names[criterion]:
            option = name.split("__", 1)[1]
            value = data.get(name)
            if criterion == "committee" and option == "current":
                node[option] = bool(value)
                continue
            if value in (None, "", [], False):
                continue
            if hasattr(value, "values_list"):  # a queryset of chosen records
                value = sorted(value.values_list("pk", flat=True))
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            elif isinstance(value, str):
                value = value.strip()
            elif isinstance(value, list):
                value = list(value)
            node[option] = value
        if criterion == "extra" and node.get("key"):
            for option in ("equals", "from", "to"):
                if option in node:
                    node[option] = _extra_value(node["key"], node[option])
        if data.get("negate"):
            return {"op": "not", "terms": [node]}
        return node


class BaseCriterionFormSet(forms.BaseFormSet):
    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["user"] = self.user
        return kwargs

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            user=self.user,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form


CriterionFormSet = formset_factory(
    CriterionRowForm, formset=BaseCriterionFormSet, extra=1, can_delete=True
)


def criteria_to_rows(criteria) -> tuple[str, list[dict]] | None:
    """The builder's view of a criteria tree: ("and"|"or", rows), or None when the
    tree is nested deeper than the builder shows (it is then edited as JSON)."""
    if not criteria:
        return "and", []
    if not isinstance(criteria, dict):
        return None
    if "criterion" in criteria or criteria.get("op") == "not":
        terms, op = [criteria], "and"
    elif criteria.get("op") in ("and", "or"):
        terms, op = criteria.get("terms") or [], criteria["op"]
    else:
        return None
    rows = []
    for term in terms:
        negate = False
        if isinstance(term, dict) and term.get("op") == "not":
            inner = term.get("terms") or []
            if len(inner) != 1:
                return None
            term, negate = inner[0], True
        if not isinstance(term, dict) or term.get("criterion") not in dict(
            CRITERION_CHOICES
        ):
            return None
        criterion = term["criterion"]
        row = {"criterion": criterion, "negate": negate}
        for option, value in term.items():
            if option != "criterion":
                row[f"{criterion}__{option}"] = value
        rows.append(row)
    return op, rows


class SelectionForm(forms.Form):
    """Name and description; the criteria come from the rows of the builder."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=150)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    combine = forms.ChoiceField(
        label=gettext_lazy("Members must meet"),
        choices=[
            ("and", gettext_lazy("all of the criteria (and)")),
            ("or", gettext_lazy("any of the criteria (or)")),
        ],
        widget=forms.RadioSelect,
        initial="and",
        required=False,
    )
    criteria_json = forms.CharField(
        label=gettext_lazy("Criteria (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy(
            "These criteria are nested deeper than the builder shows; edit them here."
        ),
    )
