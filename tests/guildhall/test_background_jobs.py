"""Background jobs: the periodic schedule, the embedded scheduler and its lock."""

import fcntl
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from celery.beat import Scheduler
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import mail
from django.utils import timezone

from guildhall import scheduler
from guildhall.celery import app
from guildhall.tasks import send_email

ROOT = Path(__file__).resolve().parents[2]


def make_session(expires_in: timedelta) -> str:
    store = SessionStore()
    store["member"] = "kari"
    store.create()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() + expires_in
    )
    return store.session_key


def test_every_scheduled_job_names_a_known_task():
    app.loader.import_default_modules()  # as a worker or beat does when it starts
    assert app.conf.beat_schedule
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, f"{name} names an unknown task"


@pytest.mark.django_db
def test_due_jobs_from_the_schedule_run_in_the_site_process(settings):
    settings.GUILDHALL_EMBEDDED_SCHEDULER = True
    expired = make_session(-timedelta(days=1))
    current = make_session(timedelta(days=1))
    assert app.conf.task_always_eager
    app.loader.import_default_modules()  # as start_embedded_scheduler does

    beat = Scheduler(app, lazy=False)
    assert "clear-expired-sessions" in beat.schedule
    two_days_ago = beat.app.now() - timedelta(days=2)
    for entry in beat.schedule.values():
        entry.last_run_at = two_days_ago
    for _ in range(len(beat.schedule)):
        beat.tick()

    remaining = set(Session.objects.values_list("session_key", flat=True))
    assert expired not in remaining
    assert current in remaining
    assert beat.schedule["clear-expired-sessions"].total_run_count == 1


@pytest.mark.django_db
def test_jobs_not_yet_due_do_not_run(settings):
    expired = make_session(-timedelta(days=1))

    beat = Scheduler(app, lazy=False)
    for entry in beat.schedule.values():
        entry.last_run_at = beat.app.now()
    beat.tick()

    assert Session.objects.filter(session_key=expired).exists()


@pytest.mark.django_db
def test_send_email_task_delivers_one_message():
    sent = send_email.delay(
        subject="Board meeting moved",
        body="The board meets on Thursday.",
        to=["board@example.org"],
        reply_to=["chair@example.org"],
    ).get()

    assert sent == 1
    (message,) = mail.outbox
    assert message.subject == "Board meeting moved"
    assert message.to == ["board@example.org"]
    assert message.reply_to == ["chair@example.org"]


# --- The embedded scheduler ------------------------------------------------------------

STARTED_SITE = """
import django, json
django.setup()
import celery.beat
from django.conf import settings
from guildhall.celery import app
from guildhall.scheduler import start_embedded_scheduler

class Beat:
    def __init__(self, app, **kwargs):
        pass
    def start(self):
        pass

celery.beat.EmbeddedService = Beat
settings.GUILDHALL_EMBEDDED_SCHEDULER = True
started = start_embedded_scheduler()
wanted = [entry["task"] for entry in app.conf.beat_schedule.values()]
print(json.dumps({"started": started, "unknown": [t for t in wanted if t not in app.tasks]}))
"""


def test_a_started_site_knows_every_task_its_schedule_names(tmp_path):
    """Beat would hand a task it does not know to the in-memory broker, to be lost."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "guildhall.settings.test",
        "GUILDHALL_VAR_DIR": str(tmp_path),
    }

    result = subprocess.run(
        [sys.executable, "-c", STARTED_SITE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"started": True, "unknown": []}


class FakeBeat:
    """Stands in for celery's embedded beat thread, counting how often it is started."""

    started = 0

    def __init__(self, app, **kwargs):
        self.kwargs = kwargs

    def start(self):
        type(self).started += 1


@pytest.fixture
def fresh_scheduler(monkeypatch, settings, tmp_path):
    """The scheduler module as a newly started process sees it, with beat faked."""
    monkeypatch.setattr(scheduler, "_started", threading.Event())
    monkeypatch.setattr(scheduler, "_lock_file", None)
    monkeypatch.setattr("celery.beat.EmbeddedService", FakeBeat)
    FakeBeat.started = 0
    settings.CELERY_BEAT_SCHEDULE_FILENAME = str(tmp_path / "celerybeat-schedule")
    yield tmp_path / "celerybeat-schedule.lock"
    if scheduler._lock_file is not None:
        scheduler._lock_file.close()


def test_embedded_scheduler_stays_off_when_the_setting_is_off(
    fresh_scheduler, settings
):
    settings.GUILDHALL_EMBEDDED_SCHEDULER = False

    assert scheduler.start_embedded_scheduler() is False
    assert FakeBeat.started == 0
    assert not fresh_scheduler.exists()


def test_embedded_scheduler_starts_once_per_process(fresh_scheduler, settings):
    settings.GUILDHALL_EMBEDDED_SCHEDULER = True

    assert scheduler.start_embedded_scheduler() is True
    assert scheduler.start_embedded_scheduler() is False
    assert FakeBeat.started == 1


def test_a_second_process_does_not_start_another_scheduler(fresh_scheduler, settings):
    settings.GUILDHALL_EMBEDDED_SCHEDULER = True
    lock_path: Path = fresh_scheduler
    # Another process on the machine already holds the lock.
    with lock_path.open("a") as other_process:
        fcntl.flock(other_process, fcntl.LOCK_EX | fcntl.LOCK_NB)

        assert scheduler.start_embedded_scheduler() is False
        assert FakeBeat.started == 0

    # Once that process is gone, this one may take over.
    assert scheduler.start_embedded_scheduler() is True
    assert FakeBeat.started == 1
