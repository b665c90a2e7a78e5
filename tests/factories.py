"""Factories for test data. Pages are built under a fresh HomePage set as the site root."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from wagtail.models import Page, Site

from home.models import FormField, FormPage, HomePage, NewsIndexPage, NewsPage, StandardPage

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
                Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
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
        FormField(sort_order=0, label="Your name", field_type="singleline", required=True),
        FormField(sort_order=1, label="E-mail", field_type="email", required=True),
        FormField(sort_order=2, label="Message", field_type="multiline", required=True),
    ]
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


__all__ = [
    "TEST_PASSWORD",
    "UserFactory",
    "StaffUserFactory",
    "SuperUserFactory",
    "make_site_root",
    "add_page",
    "add_contact_form",
    "HomePage",
    "StandardPage",
    "NewsIndexPage",
    "NewsPage",
]
