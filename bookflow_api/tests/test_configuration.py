import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from bookflow_api.tests.helpers import settings_variables


def test_env_example_lists_every_variable_settings_read():
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (Path(settings.BASE_DIR) / ".env.example").read_text(), re.M))

    assert settings_variables() - listed == set()


def test_readme_documents_every_variable_settings_read():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()

    assert {name for name in settings_variables() if f"`{name}`" not in readme} == set()


# --- Start-up refuses what production cannot run with ---------------------------------------------------

ROOT = Path(settings.BASE_DIR)
PRODUCTION = {
    "APP_SECRET_KEY": "configuration-test-secret-key-0123456789-abcdefghij",
    "DATABASE_URL": "sqlite:///:memory:",
    "MAIL_SMTP_PASSWORD": "smtp-secret",
}


def start(command: list[str], **env: str) -> subprocess.CompletedProcess:
    """Run a manage.py command in a clean environment: only PATH, DEBUG off, and `env`."""
    base = {"PATH": os.environ["PATH"], "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "bookflow_api.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=base | {k: v for k, v in env.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_complete_production_configuration_starts():
    assert start(["check"], **PRODUCTION).returncode == 0


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"APP_SECRET_KEY": None}, "APP_SECRET_KEY"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"MAIL_SMTP_PASSWORD": None}, "MAIL_SMTP_PASSWORD"),
        ({"CLOUDINARY_CLOUD_NAME": "bookflow"}, "CLOUDINARY_API_KEY"),
        ({"SUMMARY_PROVIDER": "gemini"}, "GOOGLE_API_KEY"),
        ({"THROTTLE_RATES": "no_such_scope=1/min"}, "THROTTLE_RATES"),
        ({"THROTTLE_RATES": "login_ip=ten/min"}, "THROTTLE_RATES"),
        ({"THROTTLE_RATES": "login_ip=10/fortnight"}, "THROTTLE_RATES"),
        ({"ADMIN_LOGIN_COOLOFF_MINUTES": "0"}, "ADMIN_LOGIN_COOLOFF_MINUTES"),
        ({"ADMIN_LOGIN_IP_FAILURE_LIMIT": "3"}, "ADMIN_LOGIN_IP_FAILURE_LIMIT"),
    ],
)
@pytest.mark.parametrize("command", [["check"], ["scheduler", "--list"]])
def test_production_refuses_to_start_half_configured_with_one_line_naming_the_variable(change, named, command):
    result = start(command, **(PRODUCTION | change))

    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Configuration error: ") and named in line


def test_without_a_database_production_never_falls_back_to_sqlite():
    result = start(["check"], **(PRODUCTION | {"DATABASE_URL": None}))

    assert "does not fall back to SQLite" in result.stderr


def test_production_settings_never_send_codes_to_the_console():
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_BACKEND", "MAIL_SMTP_PASSWORD")}
    env.update(DEBUG="0", APP_SECRET_KEY="x" * 50, DATABASE_URL="sqlite:///:memory:")
    env.update(DJANGO_SETTINGS_MODULE="bookflow_api.settings")
    script = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    root = Path(__file__).resolve().parents[2]

    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True)

    assert "console" not in result.stdout
    assert result.returncode != 0 and "MAIL_SMTP_PASSWORD is not set" in result.stderr


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        (PRODUCTION, "False"),
        ({**PRODUCTION, "CLOUDINARY_CLOUD_NAME": "c", "CLOUDINARY_API_KEY": "k", "CLOUDINARY_API_SECRET": "s"}, "True"),
        ({"DEBUG": "1"}, "True"),
    ],
)
def test_avatar_uploads_need_cloudinary_unless_debug_is_on(env, enabled):
    command = [
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.AVATAR_UPLOADS_ENABLED)",
    ]

    assert start(command, **env).stdout.strip() == enabled


def test_throttle_rates_override_any_scope_and_keep_the_others():
    code = "from django.conf import settings as s; print(s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])"
    result = start(["shell", "-v0", "-c", code], **PRODUCTION, THROTTLE_RATES="register_ip=30/hour, login_ip=20/min")

    rates = eval(result.stdout)  # noqa: S307 - our own process printed a dict literal
    assert (rates["register_ip"], rates["login_ip"]) == ("30/hour", "20/min")
    assert rates["password_user"] == settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["password_user"]


def test_sqlite_from_database_url_gets_wal_a_busy_timeout_and_immediate_transactions(tmp_path):
    code = (
        "from django.db import connection as c; c.ensure_connection(); "
        "print(c.transaction_mode, c.connection.execute('PRAGMA journal_mode').fetchone()[0], "
        "c.connection.execute('PRAGMA busy_timeout').fetchone()[0])"
    )
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = start(["shell", "-v0", "-c", code], **(PRODUCTION | database))

    assert result.stdout.split() == ["IMMEDIATE", "wal", "20000"]
