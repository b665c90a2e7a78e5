"""Settings shared by every environment.

Everything that differs between machines comes from the environment (see
``docs/configuration.md``). ``dev``, ``test`` and ``production`` build on this module.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("GUILDHALL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "guildhall.accounts",
    "home",
    "members",
    "shop",
    "extranet",
    "newsletters",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "simple_history",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "guildhall.accounts.middleware.AdminSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "guildhall.csp.GuildhallCSPMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Axes turns a locked-out sign-in into its lockout response; it must come last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "guildhall.urls"
WSGI_APPLICATION = "guildhall.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLite in var/ unless DATABASE_URL points elsewhere (postgres://user@host:5432/name).
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'guildhall.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the site read while a background job writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Caches ---------------------------------------------------------------------------
if os.environ.get("CACHE_URL", "").startswith("redis"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "guildhall",
        }
    }

# --- Users, passwords and sign-in -----------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Members sign in with personal links from e-mails (guildhall.accounts.signin_links).
    "sesame.backends.ModelBackend",
]
SESAME_MAX_AGE = int(os.environ.get("GUILDHALL_SIGNIN_LINK_DAYS", "14")) * 24 * 3600
SESAME_TOKEN_NAME = "sesame"  # noqa: S105 - the query parameter name, not a secret
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Members sign in on the public site (extranet); staff pages name the admin's own
# sign-in page, which asks for the second factor.
LOGIN_URL = "extranet:signin"
LOGIN_REDIRECT_URL = "/account/my-account/"
# Restricted pages send visitors to the members' sign-in page, not the admin's.
WAGTAIL_FRONTEND_LOGIN_URL = "/account/sign-in/"

# Failed sign-ins are limited per account and, separately, per address (django-axes).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = int(os.environ.get("GUILDHALL_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(
    minutes=int(os.environ.get("GUILDHALL_LOGIN_COOLOFF_MINUTES", "15"))
)
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "guildhall.accounts.lockout.username_from_request"
AXES_LOCKOUT_CALLABLE = "guildhall.accounts.lockout.lockout_response"
# Proxies in front of the site; each appends the address it saw to X-Forwarded-For.
GUILDHALL_PROXY_COUNT = int(os.environ.get("GUILDHALL_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "guildhall.accounts.lockout.client_ip_address"

OTP_TOTP_ISSUER = os.environ.get("GUILDHALL_OTP_ISSUER", "Guildhall")

# --- Languages and formats ------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("nb", _("Norwegian Bokmål")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("GUILDHALL_TIME_ZONE", "Europe/Oslo")
USE_I18N = True
USE_TZ = True
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES

# --- Static and media files ----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(
    os.environ.get("GUILDHALL_STATIC_ROOT", BASE_DIR / "static_collected")
)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("GUILDHALL_MEDIA_ROOT", VAR_DIR / "media"))
GUILDHALL_SERVE_MEDIA = env_bool("GUILDHALL_SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# --- E-mail ---------------------------------------------------------------------------
# EMAIL_URL-style configuration kept explicit: SMTP when EMAIL_HOST is set, otherwise
# mail is written to var/mail (or the console with GUILDHALL_EMAIL_CONSOLE=1).
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "Guildhall <no-reply@localhost>"
)
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# Where members' inquiries are announced when their form names no address
# (comma-separated); empty: the billing e-mail, then the admins.
GUILDHALL_INQUIRY_EMAIL = os.environ.get("GUILDHALL_INQUIRY_EMAIL", "")
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = 30
elif env_bool("GUILDHALL_EMAIL_CONSOLE"):
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# --- Background jobs (Celery) --------------------------------------------------------
# No broker configured: tasks run in the site process when the transaction commits, and
# the periodic schedule runs in a thread of the site (guildhall.scheduler). With
# CELERY_BROKER_URL (redis://, amqp://) run `celery -A guildhall worker` and
# `celery -A guildhall beat` as separate processes.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
# In-process transport when there is no broker, so nothing tries to reach one.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
GUILDHALL_EMBEDDED_SCHEDULER = env_bool(
    "GUILDHALL_EMBEDDED_SCHEDULER", default=CELERY_TASK_ALWAYS_EAGER
)

# --- Payments -------------------------------------------------------------------------
# A provider without its keys is not offered (docs/configuration.md).
GUILDHALL_CURRENCY = os.environ.get("GUILDHALL_CURRENCY", "NOK")
# The local sandbox pay page; production settings refuse it.
GUILDHALL_SANDBOX_PAYMENTS = env_bool("GUILDHALL_SANDBOX_PAYMENTS", True)
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
# Only tests point this elsewhere (a local fake of Stripe's API).
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
VIPPS_BASE_URL = os.environ.get("VIPPS_BASE_URL", "https://apitest.vipps.no")
VIPPS_CLIENT_ID = os.environ.get("VIPPS_CLIENT_ID", "")
VIPPS_CLIENT_SECRET = os.environ.get("VIPPS_CLIENT_SECRET", "")
VIPPS_SUBSCRIPTION_KEY = os.environ.get("VIPPS_SUBSCRIPTION_KEY", "")
VIPPS_MERCHANT_SERIAL_NUMBER = os.environ.get("VIPPS_MERCHANT_SERIAL_NUMBER", "")
VIPPS_WEBHOOK_SECRET = os.environ.get("VIPPS_WEBHOOK_SECRET", "")
# Bank OCR files dropped here are imported by a scheduled job.
GUILDHALL_OCR_INBOX = Path(os.environ.get("GUILDHALL_OCR_INBOX", VAR_DIR / "ocr-inbox"))

# --- Wagtail --------------------------------------------------------------------------
WAGTAIL_SITE_NAME = os.environ.get("GUILDHALL_SITE_NAME", "Guildhall")
WAGTAILADMIN_BASE_URL = os.environ.get("GUILDHALL_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
# Documents are always streamed through Wagtail's view, which checks the collection's
# privacy; never a redirect to (or a link straight at) the file in storage.
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILDOCS_EXTENSIONS = [
    "csv",
    "docx",
    "key",
    "odt",
    "pdf",
    "pptx",
    "rtf",
    "txt",
    "xlsx",
    "zip",
]
WAGTAIL_ENABLE_UPDATE_CHECK = False
# No avatars from gravatar.com: no outside requests from the admin, and the CSP allows
# images from this site only.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_PASSWORD_RESET_ENABLED = True
WAGTAIL_I18N_ENABLED = False
WAGTAILIMAGES_IMAGE_MODEL = "wagtailimages.Image"

# --- Security headers (tightened further in production) ------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # Wagtail's admin sets inline styles from its scripts.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": os.environ.get("GUILDHALL_LOG_LEVEL", "INFO"),
    },
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        # WeasyPrint reports every step of every PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
