import logging
import subprocess
import sys
import threading
import time

import pytest

from books import scheduler


@pytest.fixture(autouse=True)
def _stopped():
    scheduler.shutdown()
    yield
    scheduler.shutdown()


@pytest.mark.parametrize(
    "argv, environ, expected",
    [
        (["manage.py", "runserver"], {"RUN_MAIN": "true"}, True),
        (["manage.py", "runserver"], {}, False),  # the autoreloader's parent serves nothing
        (["manage.py", "runserver", "--noreload"], {}, True),
        (["manage.py", "migrate"], {"RUN_MAIN": "true"}, False),
        (["manage.py", "collectstatic"], {}, False),
        (["manage.py", "shell"], {}, False),
        (["manage.py", "scheduler"], {}, False),
        (["gunicorn", "bookflow_api.wsgi:application"], {}, False),  # started by post_worker_init instead
        (["pytest"], {}, False),
    ],
)
def test_auto_mode_starts_only_in_runserver_s_serving_process(settings, argv, environ, expected):
    settings.BOOKFLOW_BACKGROUND_SCHEDULER = "auto"

    assert scheduler.should_start_on_ready(argv, environ) is expected


def test_on_and_off_override_the_detection(settings):
    settings.BOOKFLOW_BACKGROUND_SCHEDULER = "on"
    assert scheduler.should_start_on_ready(["manage.py", "migrate"], {})
    settings.BOOKFLOW_BACKGROUND_SCHEDULER = "off"
    assert not scheduler.should_start_on_ready(["manage.py", "runserver", "--noreload"], {})
    assert scheduler.start() is None


def test_start_logs_once_per_process_and_runs_timers(settings, caplog):
    settings.BOOKFLOW_BACKGROUND_SCHEDULER = "auto"
    ran = threading.Event()

    with caplog.at_level(logging.INFO, logger="books.scheduler"):
        first, second = scheduler.start(), scheduler.start()
        scheduler.run_later(ran.set, delay=0)
        assert ran.wait(timeout=10)
        # Shut down only once the fired timer is gone: APScheduler removes it just after running it, and
        # a shutdown in between makes its thread raise JobLookupError (seen under load by make test-repeat).
        deadline = time.monotonic() + 10
        while first.get_jobs() and time.monotonic() < deadline:
            time.sleep(0.01)
        scheduler.shutdown()

    assert first is second
    started = [r for r in caplog.records if r.message == "Background scheduler started successfully for async tasks."]
    assert len(started) == 1


def test_without_a_scheduler_a_timer_is_left_to_the_worker(caplog):
    with caplog.at_level(logging.INFO, logger="books.scheduler"):
        scheduler.run_later(print, "x")

    assert "waits for the worker" in caplog.text


@pytest.mark.parametrize("command", [["check"], ["migrate", "--no-input"], ["showmigrations", "books"]])
def test_management_commands_never_start_it(command, tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", *command],
        capture_output=True,
        text=True,
        timeout=60,
        env={"DEBUG": "1", "PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Background scheduler started" not in result.stdout + result.stderr
