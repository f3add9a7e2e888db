import logging
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection

from books import scheduler
from books.models import Book


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


@pytest.mark.django_db
def test_a_timer_whose_task_crashes_logs_it_and_leaves_it_to_the_worker(caplog):
    def summarise(summary_id):
        raise RuntimeError("the provider's SDK blew up")

    scheduler._run(summarise, (7,))  # what a timer runs: it must not raise into APScheduler's thread

    assert "Task summarise(7,) crashed; the worker will retry it." in caplog.text


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite's test database lives in memory inside the connection this test drops",
)
@pytest.mark.django_db(transaction=True)
def test_a_timer_whose_database_connection_dropped_since_the_last_one_gets_a_fresh_one():
    Book.objects.exists()
    connection.connection.close()  # the server went away between two timers of this web process
    counts = []

    scheduler._run(lambda: counts.append(Book.objects.count()), ())

    assert counts == [0]
