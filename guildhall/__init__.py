"""Guildhall: membership management for associations.

The project package. It is called ``guildhall`` rather than the design card's ``site``
because Python's standard library already owns the module name ``site``.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
