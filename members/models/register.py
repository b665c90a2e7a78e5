"""People, organisations, employments and chapters: the register itself."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node

from ..validators import clean_organisation_number

COUNTRY_CHOICES = [
    ("NO", _("Norway")),
    ("SE", _("Sweden")),
    ("DK", _("Denmark")),
    ("FI", _("Finland")),
    ("NL", _("Netherlands")),
    ("GB", _("United Kingdom")),
    ("DE", _("Germany")),
]


class Chapter(MP_Node):
    """A unit of the association: national, regional or local, in a tree.

    Memberships belong to a chapter; a chapter admin sees what belongs to their chapter
    and the chapters below it (a prefix match on ``path``).
    """

    class Level(models.TextChoices):
        NATIONAL = "national", _("National")
        REGIONAL = "regional", _("Regional")
        LOCAL = "local", _("Local")

    name = models.CharField(_("name"), max_length=150)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    node_order_by = ["name"]

    class Meta:
        verbose_name = _("chapter")
        verbose_name_plural = _("chapters")

    def __str__(self):
        return self.name

    def subtree(self):
        """This chapter and every chapter below it."""
        return Chapter.objects.filter(path__startswith=self.path)


class Tag(models.Model):
    """A free label staff put on persons and organisations (e.g. "press", "volunteer")."""

    name = models.CharField(_("name"), max_length=60, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class RelationType(models.Model):
    """How the association relates to a person or organisation: member, supplier, press."""

    name = models.CharField(_("name"), max_length=80, unique=True)

    class Meta:
        verbose_name = _("relation type")
        verbose_name_plural = _("relation types")
        ordering = ["name"]

    def __str__(self):
        return self.name


class RegisterEntry(models.Model):
    """What persons and organisations share: contact details, chapter, archiving."""

    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    postal_street = models.CharField(_("postal address"), max_length=200, blank=True)
    postal_postcode = models.CharField(
        _("postcode"), max_length=20, blank=True, db_index=True
    )
    postal_city = models.CharField(_("city"), max_length=100, blank=True)
    postal_country = models.CharField(
        _("country"), max_length=2, choices=COUNTRY_CHOICES, default="NO", blank=True
    )
    visiting_street = models.CharField(
        _("visiting address"), max_length=200, blank=True
    )
    visiting_postcode = models.CharField(
        _("visiting postcode"), max_length=20, blank=True
    )
    visiting_city = models.CharField(_("visiting city"), max_length=100, blank=True)
    chapter = models.ForeignKey(
        Chapter,
        verbose_name=_("home chapter"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The chapter that looks after this record."),
    )
    invoices_by_post = models.BooleanField(
        _("invoices by post"),
        default=False,
        help_text=_("Send invoices and reminders as letters instead of by e-mail."),
    )
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True)
    relation_types = models.ManyToManyField(
        RelationType, verbose_name=_("relation types"), blank=True
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_duplicates",
        editable=False,
    )
    extra = models.JSONField(
        _("extra fields"),
        default=dict,
        blank=True,
        help_text=_(
            "Values of the fields staff defined themselves (see Extra fields)."
        ),
    )

    class Meta:
        abstract = True

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Person(RegisterEntry):
    """Someone the association knows: member, contact person, recruiter, speaker.

    Stored once; a person may hold several memberships and employments, and may have a
    user account to sign in with (a person needs none).
    """

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        NORWEGIAN = "nb", _("Norwegian Bokmål")

    member_number = models.PositiveIntegerField(
        _("member number"), unique=True, null=True, blank=True
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100, db_index=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    email_secondary = models.EmailField(_("other e-mail"), blank=True)
    phone_mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=5, choices=Language.choices, default="nb"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        ordering = ["last_name", "first_name", "pk"]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Organisation(RegisterEntry):
    """A company, institution or branch the association deals with; stored once."""

    name = models.CharField(_("name"), max_length=200, db_index=True)
    organisation_number = models.CharField(
        _("organisation number"), max_length=30, blank=True, db_index=True
    )
    country = models.CharField(
        _("country of registration"),
        max_length=2,
        choices=COUNTRY_CHOICES,
        default="NO",
    )
    website = models.URLField(_("website"), blank=True)
    billing_street = models.CharField(_("billing address"), max_length=200, blank=True)
    billing_postcode = models.CharField(
        _("billing postcode"), max_length=20, blank=True
    )
    billing_city = models.CharField(_("billing city"), max_length=100, blank=True)
    billing_email = models.EmailField(_("billing e-mail"), blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="branches",
        help_text=_("For a branch: the organisation it belongs to."),
    )

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        try:
            self.organisation_number = clean_organisation_number(
                self.organisation_number, self.country
            )
        except ValidationError as exc:
            raise ValidationError({"organisation_number": exc.messages}) from exc
        if self.parent_id and self.pk and self.parent_id == self.pk:
            raise ValidationError(
                {"parent": _("An organisation cannot be its own parent.")}
            )


class FunctionClassification(models.Model):
    """A kind of function staff group job titles by: director, board member, HR."""

    name = models.CharField(_("name"), max_length=80, unique=True)

    class Meta:
        verbose_name = _("function classification")
        verbose_name_plural = _("function classifications")
        ordering = ["name"]

    def __str__(self):
        return self.name


class EmploymentQuerySet(models.QuerySet):
    def current(self, on: date | None = None):
        on = on or timezone.localdate()
        return self.filter(Q(start__isnull=True) | Q(start__lte=on)).filter(
            Q(end__isnull=True) | Q(end__gte=on)
        )


class Employment(models.Model):
    """A person working for an organisation, from a start to an end, in a function."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="employments",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="employments",
    )
    function_title = models.CharField(_("function"), max_length=120, blank=True)
    function_classification = models.ForeignKey(
        FunctionClassification,
        verbose_name=_("function classification"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    start = models.DateField(_("start"), null=True, blank=True)
    end = models.DateField(_("end"), null=True, blank=True)
    is_contact = models.BooleanField(
        _("organisation contact"),
        default=False,
        help_text=_("May keep the organisation's profile and staff list up to date."),
    )

    objects = EmploymentQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("employment")
        verbose_name_plural = _("employments")
        ordering = ["-start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True)
                | Q(start__isnull=True)
                | Q(end__gte=F("start")),
                name="members_employment_end_after_start",
                violation_error_message=_("The end cannot be before the start."),
            )
        ]

    def __str__(self):
        return f"{self.person} – {self.organisation}"


class ChapterAdministrator(models.Model):
    """Limits a staff user to one chapter and the chapters below it.

    A staff user with one or more of these sees and changes only persons, organisations
    and memberships of those chapters, in every list, form, export and search.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="chapter_assignments",
    )
    chapter = models.ForeignKey(
        Chapter,
        verbose_name=_("chapter"),
        on_delete=models.CASCADE,
        related_name="administrators",
    )

    class Meta:
        verbose_name = _("chapter administrator")
        verbose_name_plural = _("chapter administrators")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "chapter"], name="members_chapter_admin_once"
            )
        ]

    def __str__(self):
        return f"{self.user} – {self.chapter}"


class ExtraField(models.Model):
    """A field staff add to persons or organisations themselves, without code.

    Values live in the record's ``extra`` (JSON) under ``key``, are validated like
    built-in fields, shown on their own tab, kept in the history, and usable in
    selections.
    """

    class Entity(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANISATION = "organisation", _("Organisation")

    class FieldType(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/no")
        CHOICE = "choice", _("Choice")

    entity = models.CharField(_("for"), max_length=20, choices=Entity.choices)
    key = models.SlugField(
        _("key"),
        max_length=50,
        help_text=_("A short name used in exports and selections, e.g. shoe_size."),
    )
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    choices = models.TextField(
        _("choices"),
        blank=True,
        help_text=_("For a choice field: one choice per line."),
    )
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=255, blank=True)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("extra field")
        verbose_name_plural = _("extra fields")
        ordering = ["entity", "sort_order", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "key"], name="members_extra_field_key"
            )
        ]

    def __str__(self):
        return self.label

    def clean(self):
        super().clean()
        if self.field_type == self.FieldType.CHOICE and not self.choice_list():
            raise ValidationError(
                {"choices": _("Give at least one choice, one per line.")}
            )

    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]
