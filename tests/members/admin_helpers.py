"""Shared set-up for the back-office tests: staff in the pre-made roles."""

from django.contrib.auth.models import Group

from members.models import ChapterAdministrator
from tests.factories import StaffUserFactory


def staff_in(group_name, **fields):
    user = StaffUserFactory(**fields)
    user.groups.add(Group.objects.get(name=group_name))
    return user


def chapter_admin_of(chapter, **fields):
    user = staff_in("Chapter admins", **fields)
    ChapterAdministrator.objects.create(user=user, chapter=chapter)
    return user


def form_data(response) -> dict:
    """The POST data a browser would send back for the form on an edit page."""
    form = response.context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        if value is True:
            data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        else:
            data[name] = str(value)
    return data
