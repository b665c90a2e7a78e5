"""A task sent through a real Redis broker is run by a real Celery worker process.

Runs when GUILDHALL_TEST_REDIS_URL points at a Redis server (CI sets it); skipped
otherwise with the reason shown.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from guildhall.tasks import send_email

REDIS_URL = os.environ.get("GUILDHALL_TEST_REDIS_URL", "")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not REDIS_URL, reason="set GUILDHALL_TEST_REDIS_URL to a Redis server"
    ),
]


@pytest.fixture
def worker(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "guildhall.settings.dev",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "GUILDHALL_VAR_DIR": str(tmp_path),
        "GUILDHALL_EMBEDDED_SCHEDULER": "0",
    }
    env.pop("DATABASE_URL", None)
    env.pop("EMAIL_HOST", None)
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "guildhall",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"test-{os.getpid()}@localhost",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield tmp_path
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def redis_app():
    """A client app that talks to Redis, as the site does when CELERY_BROKER_URL is set."""
    client = Celery("guildhall-test-client", broker=REDIS_URL, backend=REDIS_URL)
    client.conf.update(task_serializer="json", accept_content=["json"])
    yield client
    client.close()


def test_worker_sends_the_email_it_is_given(worker, redis_app):
    result = redis_app.send_task(
        send_email.name,
        kwargs={
            "subject": "Board meeting moved",
            "body": "The board meets on Thursday instead.",
            "to": ["board@example.org"],
        },
    )
    assert result.get(timeout=60) == 1

    deadline = time.monotonic() + 10
    mail_dir = worker / "mail"
    files = []
    while time.monotonic() < deadline and not files:
        files = list(mail_dir.glob("*.log")) if mail_dir.exists() else []
        time.sleep(0.2)
    assert files, "the worker wrote no e-mail"
    text = files[0].read_text()
    assert "Subject: Board meeting moved" in text
    assert "To: board@example.org" in text
