"""The deployment files agree with the code: render.yaml, build.sh, gunicorn.conf.py, DEPLOYMENT.md."""

import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from account.worker import jobs
from bookflow_api.tests.helpers import settings_variables
from books import scheduler

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINT = yaml.safe_load((ROOT / "render.yaml").read_text())
SERVICES = {service["name"]: service for service in BLUEPRINT["services"]}
WEB, WORKER = SERVICES["bookflow-api"], SERVICES["bookflow-scheduler"]
CACHE = SERVICES["bookflow-cache"]  # the Key Value (Redis-compatible) instance behind REDIS_URL

# Settings variables the Blueprint deliberately leaves out, and why.
NOT_IN_BLUEPRINT = {
    "DB_NAME": "DATABASE_URL comes from bookflow-db and wins over DB_*",
    "DB_USERNAME": "as DB_NAME",
    "DB_PASSWORD": "as DB_NAME",
    "DB_HOST_NAME": "as DB_NAME",
    "DB_PORT": "as DB_NAME",
    "RENDER_EXTERNAL_HOSTNAME": "Render sets it on every web service",
    "ALLOWED_HOSTS": "RENDER_EXTERNAL_HOSTNAME is added to it; set it only for a custom domain",
    "CSRF_TRUSTED_ORIGINS": "as ALLOWED_HOSTS",
    "EMAIL_BACKEND": "an override for development and tests",
    "GOOGLE_BOOKS_BASE_URL": "for a proxy or a local fake; production talks to Google",
    "GEMINI_BASE_URL": "as GOOGLE_BOOKS_BASE_URL",
    "THROTTLE_RATES": "an override of the default rate limits; set it in the dashboard only to change a limit",
    "CACHE_KEY_PREFIX": "the Blueprint's Key Value instance serves this deployment alone",
}
WEB_ONLY = {"WEB_CONCURRENCY", "NUM_PROXIES", "BOOKFLOW_BACKGROUND_SCHEDULER", "CORS_ALLOWED_ORIGINS"}
WEB_ONLY |= {"ADMIN_LOGIN_FAILURE_LIMIT", "ADMIN_LOGIN_IP_FAILURE_LIMIT", "ADMIN_LOGIN_COOLOFF_MINUTES"}
# The keys of Render's Blueprint specification that this file may use (render.com/docs/blueprint-spec).
SERVICE_KEYS = {
    "type", "name", "runtime", "region", "plan", "buildCommand", "startCommand", "preDeployCommand",
    "healthCheckPath", "envVars", "numInstances", "autoDeploy", "branch", "rootDir", "maxShutdownDelaySeconds",
}  # fmt: skip
DATABASE_KEYS = {"name", "region", "plan", "databaseName", "user", "postgresMajorVersion", "ipAllowList"}
KEY_VALUE_KEYS = {"type", "name", "region", "plan", "previewPlan", "maxmemoryPolicy", "ipAllowList"}


def env_vars(service: dict) -> dict[str, dict]:
    return {var["key"]: var for var in service["envVars"] if "key" in var}


def test_the_blueprint_has_the_guides_two_services_one_database_and_one_cache_in_one_region():
    [database] = BLUEPRINT["databases"]

    assert set(SERVICES) == {"bookflow-api", "bookflow-scheduler", "bookflow-cache"}
    assert (WEB["type"], WORKER["type"], database["name"]) == ("web", "worker", "bookflow-db")
    assert CACHE["type"] == "keyvalue"  # never the deprecated `redis` alias
    assert {WEB["region"], WORKER["region"], database["region"], CACHE["region"]} == {"oregon"}
    assert WEB["runtime"] == WORKER["runtime"] == "python"  # `runtime`, never the deprecated `env`
    assert WEB["plan"] == WORKER["plan"] == CACHE["plan"] == "starter"
    assert set(WEB) | set(WORKER) <= SERVICE_KEYS
    assert set(database) <= DATABASE_KEYS
    assert set(CACHE) <= KEY_VALUE_KEYS
    assert set(BLUEPRINT) <= {"services", "databases", "envVarGroups", "previews", "version"}


def test_every_variable_settings_read_is_declared_or_deliberately_left_out():
    web, worker = env_vars(WEB), env_vars(WORKER)

    assert settings_variables() - set(web) - set(NOT_IN_BLUEPRINT) == set()
    assert set(web) - WEB_ONLY == set(worker)
    assert set(NOT_IN_BLUEPRINT) <= settings_variables()  # no stale reasons


def test_both_services_share_one_private_key_value_cache_from_the_first_deploy():
    # Throttles and the search cache must be shared by every gunicorn worker: never asked for, always wired.
    for service in (env_vars(WEB), env_vars(WORKER)):
        assert service["REDIS_URL"] == {
            "key": "REDIS_URL",
            "fromService": {"type": "keyvalue", "name": "bookflow-cache", "property": "connectionString"},
        }
    assert "ipAllowList" in CACHE  # the spec requires it on Key Value instances
    assert CACHE["ipAllowList"] == []  # empty: only Render's private network reaches it
    assert CACHE["maxmemoryPolicy"] == "allkeys-lru"  # a full cache evicts; `noeviction` would fail throttled requests


def test_secrets_are_generated_shared_or_asked_for_never_written_down():
    web, worker = env_vars(WEB), env_vars(WORKER)

    assert web["APP_SECRET_KEY"] == {"key": "APP_SECRET_KEY", "generateValue": True}
    assert worker["APP_SECRET_KEY"]["fromService"] == {
        "type": "web",
        "name": "bookflow-api",
        "envVarKey": "APP_SECRET_KEY",
    }
    for service in (web, worker):
        assert service["DATABASE_URL"]["fromDatabase"] == {"name": "bookflow-db", "property": "connectionString"}
        for name in ("MAIL_SMTP_PASSWORD", "GOOGLE_API_KEY", "GOOGLE_BOOKS_API_KEY", "CLOUDINARY_API_SECRET"):
            assert service[name] == {"key": name, "sync": False}


def test_python_is_pinned_to_the_version_the_tests_run_on():
    for service in (WEB, WORKER):
        assert env_vars(service)["PYTHON_VERSION"]["value"] == platform.python_version()


def test_the_commands_point_at_files_and_commands_that_exist():
    assert WEB["buildCommand"] == WORKER["buildCommand"] == "./build.sh"
    assert os.access(ROOT / "build.sh", os.X_OK)
    start = shlex.split(WEB["startCommand"])
    assert start[:2] == ["gunicorn", "bookflow_api.wsgi:application"]
    assert (ROOT / start[start.index("--config") + 1]).is_file()
    assert shlex.split(WEB["preDeployCommand"]) == ["python", "manage.py", "migrate", "--no-input"]
    assert shlex.split(WORKER["startCommand"]) == ["python", "manage.py", "scheduler"]
    assert "scheduler" in get_commands()


def test_the_health_check_path_answers(client, db):
    assert client.get(WEB["healthCheckPath"]).status_code == 200


def test_build_sh_stops_at_the_first_error_installs_and_collects_static_files():
    script = (ROOT / "build.sh").read_text()

    assert "set -o errexit" in script
    assert "pip install -r requirements.txt" in script
    assert "collectstatic --no-input" in script
    assert "migrate" not in script.replace("# Migrations", "")  # they run in the pre-deploy step


def test_gunicorn_binds_the_port_render_gives_and_starts_the_scheduler_per_worker(monkeypatch):
    monkeypatch.setenv("PORT", "10000")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    config = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), config)
    calls = []
    monkeypatch.setattr(scheduler, "start", lambda: calls.append("start"))
    monkeypatch.setattr(scheduler, "shutdown", lambda: calls.append("shutdown"))

    config["post_worker_init"](worker=None)
    config["worker_exit"](server=None, worker=None)

    assert config["bind"] == "0.0.0.0:10000"
    assert config["workers"] == 3
    assert config["accesslog"] == "-"
    assert calls == ["start", "shutdown"]
    assert "preload_app" not in config or config["preload_app"] is False


PRODUCTION = {
    "DEBUG": "0",
    "APP_SECRET_KEY": "Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1zZWNyZXQtMTIzNDU2Nzg5MA==",  # 44+ chars, like Render's
    "DATABASE_URL": "postgres://bookflow:secret@db.internal:5432/bookflow",
    "MAIL_SMTP_PASSWORD": "smtp-secret",
    "RENDER_EXTERNAL_HOSTNAME": "bookflow-api.onrender.com",
    "NUM_PROXIES": "1",
}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith(("DB_", "PYTEST"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean | env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_without_a_secret_key_stops_at_start_naming_it():
    result = manage("check", env={k: v for k, v in PRODUCTION.items() if k != "APP_SECRET_KEY"})

    assert result.returncode != 0
    assert "APP_SECRET_KEY is not set" in result.stderr


def production_setting(name: str, **env: str):
    """One setting's value as a production process with these extra variables sees it."""
    script = f"from django.conf import settings; print(repr(settings.{name}))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION, **env, "DJANGO_SETTINGS_MODULE": "bookflow_api.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip())  # noqa: S307 - our own repr


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        pytest.param("SECURE_SSL_REDIRECT", True, id="SECURE_SSL_REDIRECT"),
        pytest.param("SESSION_COOKIE_SECURE", True, id="SESSION_COOKIE_SECURE"),
        pytest.param("CSRF_COOKIE_SECURE", True, id="CSRF_COOKIE_SECURE"),
        pytest.param("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, id="SECURE_HSTS_SECONDS"),  # a year, as preload asks
        pytest.param("ALLOWED_HOSTS[-1]", "bookflow-api.onrender.com", id="ALLOWED_HOSTS"),  # the host Render gives
    ],
)
def test_production_settings_are_on_when_debug_is_off(setting, expected):
    assert production_setting(setting) == expected


def test_the_key_value_internal_url_becomes_the_shared_redis_cache():
    # What `property: connectionString` gives: the internal URL, no TLS, no password unless internal auth is on.
    for url in ("redis://red-d1abc2defg3hij4klmno:6379", "redis://default:secret@red-d1abc2defg3hij4klmno:6379"):
        assert production_setting("CACHES", REDIS_URL=url)["default"] == {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "",
        }


def test_deployment_md_names_only_files_commands_and_targets_that_exist():
    text = (ROOT / "DEPLOYMENT.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    links = set(re.findall(r"\]\(([^)#:]+?)(?:#[^)]*)?\)", text))
    commands = set(re.findall(r"python manage\.py ([a-z_]+)", text))
    targets = set(re.findall(r"`make ([a-z-]+)`", text))  # none today; one named later must exist
    job_rows = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    assert links and commands and job_rows  # the patterns still find what the guide names

    assert {path for path in links if not (ROOT / path).exists()} == set()
    assert commands - set(get_commands()) == set()
    assert {target for target in targets if not re.search(rf"^{target}:", makefile, re.M)} == set()
    assert job_rows - set(jobs()) == set()
