"""Settings for the test suite: fast hashing, in-memory cache, eager tasks, mail in memory."""

import os

os.environ.setdefault("GUILDHALL_EMBEDDED_SCHEDULER", "0")

from .base import *  # noqa: E402, F403

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run in the test process whatever the shell exports (CELERY_BROKER_URL included).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_EAGER_PROPAGATES = True
GUILDHALL_EMBEDDED_SCHEDULER = False
MEDIA_ROOT = VAR_DIR / "test-media"
WAGTAILADMIN_BASE_URL = "http://testserver"
# Tests never run collectstatic; look files up per request instead of warning at start.
WHITENOISE_AUTOREFRESH = True
