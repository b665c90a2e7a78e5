"""Settings per environment: production refuses to start half-configured and passes
``check --deploy``; databases are chosen from the environment; passwords are strong."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings

from guildhall.settings import base

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(tmp_path):
    """The environment of a freshly provisioned machine: none of our variables set."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "GUILDHALL_", "CELERY_", "EMAIL_"))
        and key not in {"DATABASE_URL", "CACHE_URL", "PYTEST_CURRENT_TEST"}
    }
    env["GUILDHALL_VAR_DIR"] = str(tmp_path)
    return env


def run(args, env, settings_module):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": settings_module},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def read_settings(env, settings_module, *names):
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = run(["-c", code], env, settings_module)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def production_env(clean_env):
    return {
        **clean_env,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        "DJANGO_ALLOWED_HOSTS": "example.org",
    }


def test_production_passes_the_deployment_checklist(production_env):
    assert len(production_env["DJANGO_SECRET_KEY"]) == 64

    result = run(
        ["manage.py", "check", "--deploy"],
        production_env,
        "guildhall.settings.production",
    )

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNINGS" not in output


def test_production_is_secure_without_silencing_checks(production_env):
    values = read_settings(
        production_env,
        "guildhall.settings.production",
        "DEBUG",
        "SILENCED_SYSTEM_CHECKS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "ALLOWED_HOSTS",
        "PASSWORD_HASHERS",
    )

    assert values["DEBUG"] is False
    assert values["SILENCED_SYSTEM_CHECKS"] == []
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 60 * 60 * 24 * 365
    assert values["ALLOWED_HOSTS"] == ["example.org"]
    assert values["PASSWORD_HASHERS"][0].endswith("Argon2PasswordHasher")


def test_production_refuses_to_start_without_a_secret_key(clean_env):
    env = {**clean_env, "DJANGO_ALLOWED_HOSTS": "example.org"}

    result = run(["manage.py", "check"], env, "guildhall.settings.production")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert (
        "Set DJANGO_SECRET_KEY to a random string of at least 50 characters"
        in result.stderr
    )


@pytest.mark.parametrize(
    "key", ["too-short", "django-insecure-" + "x" * 60], ids=["short", "insecure"]
)
def test_production_refuses_a_weak_secret_key(clean_env, key):
    env = {**clean_env, "DJANGO_ALLOWED_HOSTS": "example.org", "DJANGO_SECRET_KEY": key}

    result = run(["manage.py", "check"], env, "guildhall.settings.production")

    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts(clean_env):
    env = {**clean_env, "DJANGO_SECRET_KEY": secrets.token_urlsafe(48)}

    result = run(["manage.py", "check"], env, "guildhall.settings.production")

    assert result.returncode != 0
    assert "Set DJANGO_ALLOWED_HOSTS" in result.stderr


def test_the_embedded_default_uses_sqlite_in_the_var_directory(clean_env, tmp_path):
    values = read_settings(clean_env, "guildhall.settings.dev", "DATABASES")

    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]) == tmp_path / "guildhall.sqlite3"


def test_database_url_selects_postgresql(clean_env):
    env = {
        **clean_env,
        "DATABASE_URL": "postgres://guild:secret@db.internal:5433/guildhall",
    }

    values = read_settings(env, "guildhall.settings.dev", "DATABASES")

    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["HOST"], database["PORT"]) == (
        "guildhall",
        "db.internal",
        5433,
    )
    assert database["USER"] == "guild"
    # SQLite's options must not leak into a PostgreSQL connection.
    assert "init_command" not in database.get("OPTIONS", {})


def test_production_cache_is_shared_between_app_servers(production_env):
    values = read_settings(production_env, "guildhall.settings.production", "CACHES")

    assert values["CACHES"]["default"]["BACKEND"] != (
        "django.core.cache.backends.locmem.LocMemCache"
    )


@pytest.mark.django_db
def test_an_eleven_character_password_is_refused():
    with pytest.raises(ValidationError) as caught:
        validate_password("Xq7!mK2pL9z")

    assert (
        "This password is too short. It must contain at least 12 characters."
        in caught.value.messages
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password1234", "This password is too common."),
        ("482915736204", "This password is entirely numeric."),
    ],
)
def test_common_and_numeric_passwords_are_refused(password, message):
    with pytest.raises(ValidationError) as caught:
        validate_password(password)

    assert message in caught.value.messages


@pytest.mark.django_db
def test_a_long_uncommon_password_is_accepted():
    assert validate_password("Xq7!mK2pL9zR") is None


def test_argon2_is_the_first_password_hasher():
    assert (
        base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    )


def test_new_passwords_are_hashed_with_argon2():
    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        hashed = make_password("Xq7!mK2pL9zR")
        assert identify_hasher(hashed).algorithm == "argon2"


def test_production_never_offers_the_sandbox_payments(production_env):
    assert read_settings(
        production_env, "guildhall.settings.production", "GUILDHALL_SANDBOX_PAYMENTS"
    ) == {"GUILDHALL_SANDBOX_PAYMENTS": False}


def test_production_refuses_to_start_with_sandbox_payments_turned_on(production_env):
    env = {**production_env, "GUILDHALL_SANDBOX_PAYMENTS": "1"}

    result = run(["manage.py", "check"], env, "guildhall.settings.production")

    assert result.returncode != 0
    assert "GUILDHALL_SANDBOX_PAYMENTS cannot be turned on in production" in (
        result.stderr
    )
