"""The Celery application.

With ``CELERY_BROKER_URL`` set, tasks go to that broker and run in
``celery -A guildhall worker``; ``celery -A guildhall beat`` sends the periodic schedule.
Without a broker (the embedded default) tasks run in the site process and the schedule
runs in a thread of the site: see :mod:`guildhall.scheduler`.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guildhall.settings.dev")

app = Celery("guildhall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # tasks.py of every installed app
app.autodiscover_tasks(["guildhall"])  # project-wide jobs in guildhall/tasks.py

# The periodic schedule. Each entry names a task that is safe to run twice.
app.conf.beat_schedule = {
    "clear-expired-sessions": {
        "task": "guildhall.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=15),
    },
    "memberships-lapse": {
        "task": "members.tasks.memberships_lapse",
        "schedule": crontab(hour=2, minute=0),
    },
    "dues-run-scheduled": {
        "task": "members.tasks.dues_run_scheduled",
        "schedule": crontab(hour=5, minute=0),
    },
    "invoice-reminders": {
        "task": "shop.tasks.send_reminders",
        "schedule": crontab(hour=6, minute=0),
    },
    "forget-old-sign-in-failures": {
        "task": "guildhall.accounts.tasks.forget_old_access_attempts",
        "schedule": crontab(hour=3, minute=30),
    },
    "poll-vipps-payments": {
        "task": "shop.tasks.poll_vipps_payments",
        "schedule": crontab(minute="*/5"),
    },
    "import-bank-ocr-inbox": {
        "task": "shop.tasks.import_ocr_inbox",
        "schedule": crontab(minute="*/15"),
    },
}
