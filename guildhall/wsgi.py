"""WSGI entry point for app servers (gunicorn, uWSGI, mod_wsgi) and runserver."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guildhall.settings.dev")

application = get_wsgi_application()

from guildhall.scheduler import start_embedded_scheduler  # noqa: E402

start_embedded_scheduler()
