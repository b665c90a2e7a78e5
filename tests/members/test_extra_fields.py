"""Staff-defined fields validate like built-in ones and keep what is stored."""

from datetime import date
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation

from members.extra_fields import extra_form_fields, extra_initial, extra_merge
from members.models import ExtraField, Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields():
    ExtraField.objects.create(
        entity="person", key="shoe_size", label="Shoe size", field_type="number"
    )
    ExtraField.objects.create(
        entity="person", key="joined_guild", label="Joined guild", field_type="date"
    )
    ExtraField.objects.create(
        entity="person",
        key="craft",
        label="Craft",
        field_type="choice",
        choices="Carpentry\nSmithing\nWeaving",
        required=True,
    )
    ExtraField.objects.create(
        entity="person",
        key="newsletter",
        label="Paper newsletter",
        field_type="boolean",
    )
    ExtraField.objects.create(
        entity="organisation", key="employees", label="Employees", field_type="number"
    )


def person_form(data=None, initial=None):
    form_class = type("ExtraForm", (forms.Form,), extra_form_fields("person"))
    return form_class(data=data, initial=initial)


def test_only_the_entitys_active_fields_are_offered(fields):
    ExtraField.objects.filter(key="newsletter").update(is_active=False)

    assert set(person_form().fields) == {
        "extra__shoe_size",
        "extra__joined_guild",
        "extra__craft",
    }


def test_bad_values_are_refused_in_the_users_language(fields):
    data = {"extra__shoe_size": "big", "extra__joined_guild": "31.02.2020"}

    with translation.override("nb"):
        form = person_form(data)
        assert not form.is_valid()
        errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}

    assert "extra__shoe_size" in errors
    assert "extra__joined_guild" in errors
    assert errors["extra__craft"] == ["Dette feltet er påkrevet."]


def test_a_choice_outside_the_list_is_refused(fields):
    form = person_form({"extra__craft": "Pottery"})

    assert not form.is_valid()
    assert "extra__craft" in form.errors


def test_good_values_are_stored_as_json_and_read_back(fields):
    person = Person.objects.create(
        first_name="Ann", last_name="Berg", extra={"retired_field": "kept"}
    )
    form = person_form(
        {
            "extra__shoe_size": "38.5",
            "extra__joined_guild": "2001-09-01",
            "extra__craft": "Weaving",
            "extra__newsletter": "on",
        }
    )
    assert form.is_valid(), form.errors

    person.extra = extra_merge(person.extra, form.cleaned_data)
    person.save()
    person.refresh_from_db()

    assert person.extra == {
        "retired_field": "kept",
        "shoe_size": 38.5,
        "joined_guild": "2001-09-01",
        "craft": "Weaving",
        "newsletter": True,
    }
    initial = extra_initial("person", person.extra)
    assert initial["extra__shoe_size"] == Decimal("38.5")
    assert initial["extra__joined_guild"] == date(2001, 9, 1)
    assert Person.objects.filter(extra__craft="Weaving").count() == 1
    assert person.history.first().extra["craft"] == "Weaving"


def test_emptying_a_field_removes_its_value(fields):
    stored = {"shoe_size": 40, "craft": "Smithing"}
    form = person_form({"extra__shoe_size": "", "extra__craft": "Smithing"})
    assert form.is_valid()

    assert extra_merge(stored, form.cleaned_data) == {
        "craft": "Smithing",
        "newsletter": False,
    }


def test_a_choice_field_needs_choices():
    field = ExtraField(entity="person", key="craft", label="Craft", field_type="choice")

    with pytest.raises(ValidationError, match="at least one choice"):
        field.full_clean()
