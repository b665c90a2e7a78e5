"""Factories for the register: chapters, persons, organisations, memberships."""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import factory

from members.models import (
    Chapter,
    Employment,
    Membership,
    MembershipType,
    Organisation,
    Person,
)


def make_chapter(name, level, parent=None, code=None) -> Chapter:
    """A chapter at the root of the tree, or below ``parent`` (treebeard)."""
    fields = {"name": name, "level": level, "code": code or name.lower()}
    if parent is None:
        return Chapter.add_root(**fields)
    parent.refresh_from_db()  # treebeard keeps numchild on the row
    return parent.add_child(**fields)


def make_chapter_tree() -> SimpleNamespace:
    """National, with regions East (local Oslo) and West (local Bergen)."""
    national = make_chapter("National", Chapter.Level.NATIONAL)
    east = make_chapter("East", Chapter.Level.REGIONAL, national)
    west = make_chapter("West", Chapter.Level.REGIONAL, national)
    oslo = make_chapter("Oslo", Chapter.Level.LOCAL, east)
    bergen = make_chapter("Bergen", Chapter.Level.LOCAL, west)
    for chapter in (national, east, west, oslo, bergen):
        chapter.refresh_from_db()
    return SimpleNamespace(
        national=national, east=east, oslo=oslo, west=west, bergen=bergen
    )


class ChapterFactory(factory.django.DjangoModelFactory):
    """A root chapter; for children use ``make_chapter(name, level, parent)``."""

    class Meta:
        model = Chapter

    name = factory.Sequence(lambda n: f"Chapter {n}")
    level = Chapter.Level.NATIONAL
    code = factory.Sequence(lambda n: f"chapter-{n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        parent = kwargs.pop("parent", None)
        if parent is None:
            return model_class.add_root(**kwargs)
        parent.refresh_from_db()
        return parent.add_child(**kwargs)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    first_name = factory.Sequence(lambda n: f"Kari{n}")
    last_name = factory.Sequence(lambda n: f"Nordmann{n}")
    email = factory.LazyAttribute(
        lambda o: f"{o.first_name}.{o.last_name}@example.org".lower()
    )


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Firma {n} AS")
    country = "NO"
    organisation_number = ""


class EmploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employment

    person = factory.SubFactory(PersonFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    function_title = "Engineer"
    start = date(2020, 1, 1)
    end = None


class MembershipTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MembershipType
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Membership type {n}")
    kind = MembershipType.Kind.INDIVIDUAL
    period = MembershipType.Period.CALENDAR_YEAR
    fee = Decimal("500.00")
    currency = "NOK"
    grace_days = 30

    @factory.post_generation
    def groups(obj, create, extracted, **kwargs):
        """``MembershipTypeFactory(groups=[group, ...])`` grants those groups."""
        if create and extracted:
            obj.groups.set(extracted)


class MembershipFactory(factory.django.DjangoModelFactory):
    """A person's membership, status "applied" unless given (use the services to
    move it on; a ``status=`` given here is stored as is, without a status change)."""

    class Meta:
        model = Membership

    person = factory.SubFactory(PersonFactory)
    organisation = None
    type = factory.SubFactory(MembershipTypeFactory)
    chapter = factory.LazyFunction(
        lambda: (
            Chapter.objects.filter(depth=1).first()
            or ChapterFactory(name="National", code="national-default")
        )
    )
    start = date(2025, 1, 1)
    end = None
    status = Membership.Status.APPLIED


__all__ = [
    "make_chapter",
    "make_chapter_tree",
    "ChapterFactory",
    "PersonFactory",
    "OrganisationFactory",
    "EmploymentFactory",
    "MembershipTypeFactory",
    "MembershipFactory",
]
