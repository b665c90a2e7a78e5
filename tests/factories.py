"""Factories for test data. Pages are built under a fresh HomePage set as the site root."""

import io
import re

import factory
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django_otp.oath import totp
from PIL import Image as PILImage
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Page, PageViewRestriction, Site

from home.models import (
    FormField,
    FormPage,
    HomePage,
    NewsIndexPage,
    NewsPage,
    StandardPage,
)

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffUserFactory(UserFactory):
    """A staff user who may open the Wagtail admin (and so needs a second factor)."""

    is_staff = True

    @factory.post_generation
    def admin_access(obj, create, extracted, **kwargs):
        if create:
            obj.user_permissions.add(
                Permission.objects.get(
                    content_type__app_label="wagtailadmin", codename="access_admin"
                )
            )


class SuperUserFactory(UserFactory):
    is_staff = True
    is_superuser = True


def make_site_root(**fields) -> HomePage:
    """Replace the default site's root with a new HomePage and return it."""
    root = Page.get_first_root_node()
    fields.setdefault("title", "Test Association")
    fields.setdefault("slug", "test-home")
    home = HomePage(**fields)
    root.add_child(instance=home)
    home.save_revision().publish()
    site = Site.objects.get(is_default_site=True)
    site.root_page = home
    site.save()
    return home


def add_page(parent, model, **fields):
    fields.setdefault("slug", fields.get("title", "page").lower().replace(" ", "-"))
    page = model(**fields)
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def add_contact_form(parent, *, to_address="staff@example.org", **fields) -> FormPage:
    fields.setdefault("title", "Contact us")
    fields.setdefault("slug", "contact")
    page = FormPage(to_address=to_address, subject="New inquiry", **fields)
    page.form_fields = [
        FormField(
            sort_order=0, label="Your name", field_type="singleline", required=True
        ),
        FormField(sort_order=1, label="E-mail", field_type="email", required=True),
        FormField(sort_order=2, label="Message", field_type="multiline", required=True),
    ]
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def add_draft(parent, model, **fields):
    """A page that was saved but never published."""
    fields.setdefault("slug", fields.get("title", "draft").lower().replace(" ", "-"))
    page = model(live=False, **fields)
    parent.add_child(instance=page)
    page.save_revision()
    return page


def make_image(title="Test image", size=(64, 48), colour="#1d4e89"):
    buffer = io.BytesIO()
    PILImage.new("RGB", size, colour).save(buffer, "PNG")
    image = get_image_model()(title=title)
    image.file = ImageFile(buffer, name=f"{title.lower().replace(' ', '-')}.png")
    image.save()
    return image


def make_document(title="Annual report", content=b"%PDF-1.4 test", name="report.pdf"):
    document = get_document_model()(title=title)
    document.file = ContentFile(content, name=name)
    document.save()
    return document


def totp_token(device) -> str:
    """The code an authenticator app would show right now for ``device``."""
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{code:0{device.digits}d}"


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def make_private(page) -> None:
    """Put the page behind a password, as a page only some may see."""
    PageViewRestriction.objects.create(
        page=page,
        restriction_type=PageViewRestriction.PASSWORD,
        password="members-only",
    )


def visible_text(response) -> str:
    """The text a person reads on the page: tags removed, whitespace collapsed."""
    soup = BeautifulSoup(response.content, "html.parser")
    for hidden in soup(["script", "style", "template"]):
        hidden.decompose()
    return re.sub(r"\s+", " ", soup.get_text(" ")).strip()


__all__ = [
    "soup",
    "make_private",
    "TEST_PASSWORD",
    "UserFactory",
    "StaffUserFactory",
    "SuperUserFactory",
    "make_site_root",
    "add_page",
    "add_contact_form",
    "add_draft",
    "make_image",
    "make_document",
    "totp_token",
    "visible_text",
    "HomePage",
    "StandardPage",
    "NewsIndexPage",
    "NewsPage",
]
