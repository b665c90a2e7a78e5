"""Run the periodic schedule inside the site when there is no broker.

A small association runs Guildhall as one process on SQLite. Celery's beat can run
embedded in a thread; with ``task_always_eager`` each due task then runs right there.
Only one process on the machine runs it: the first to take an exclusive lock on
``var/scheduler.lock``. Several app servers behind a proxy should use a broker and a
separate ``celery beat`` instead (see docs/operations.md).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

_started = threading.Event()
_lock_file = None


def _take_lock(path: Path) -> bool:
    import fcntl

    global _lock_file
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    _lock_file = handle  # kept open (and locked) for the life of the process
    return True


def start_embedded_scheduler() -> bool:
    """Start beat in a daemon thread of this process, once; return whether it started."""
    if not settings.GUILDHALL_EMBEDDED_SCHEDULER or _started.is_set():
        return False
    if not _take_lock(
        Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).with_suffix(".lock")
    ):
        logger.info("Another process on this machine runs the periodic schedule.")
        return False
    from celery.beat import EmbeddedService

    from guildhall.celery import app

    # Beat finds tasks by name. One whose module nothing has imported yet would be sent
    # to the in-memory broker, where no worker runs it: import every tasks module first.
    app.loader.import_default_modules()
    service = EmbeddedService(
        app, thread=True, schedule_filename=settings.CELERY_BEAT_SCHEDULE_FILENAME
    )
    service.start()
    _started.set()
    logger.info("Periodic schedule running inside the site (no broker configured).")
    return True
