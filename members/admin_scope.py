"""Scope helpers the back office needs beyond ``members.selectors``."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Employment
from .selectors import chapter_scope, organisations_visible_to, persons_visible_to


def employments_visible_to(user) -> QuerySet:
    """Employments whose person and organisation the user may both see."""
    employments = Employment.objects.all()
    if chapter_scope(user) is None:
        return employments
    return employments.filter(
        person__in=persons_visible_to(user),
        organisation__in=organisations_visible_to(user),
    )
