"""The scheduler worker: job functions, registration, operator commands, one leader, graceful exit."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from apscheduler.schedulers.blocking import BlockingScheduler
from django.core.management import CommandError, call_command
from django.db import Error as DatabaseErrorBase
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_apscheduler.jobstores import DjangoJobStore
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from account.models import OneTimeCode, WorkerHeartbeat
from account.tasks import delete_old_job_executions, delete_otps
from account.tests.factories import UserFactory
from account.worker import jobs, register_jobs, run_job
from conftest import subprocess_env
from fakes import gemini as fake_gemini

ROOT = Path(__file__).resolve().parents[2]


# --- Job functions ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_otps_deletes_expired_and_used_codes_in_batches_and_keeps_fresh_ones():
    user, now = UserFactory(), timezone.now()

    def code(**fields):
        values = {"user": user, "purpose": "verify_email", "code_hash": "x", "expires_at": now + timedelta(minutes=5)}
        return OneTimeCode.objects.create(**(values | fields))

    dead = [code(expires_at=now - timedelta(seconds=1)) for _ in range(3)]
    dead += [code(consumed_at=now) for _ in range(2)]
    fresh = [code() for _ in range(2)]

    with CaptureQueriesContext(connection) as queries:
        deleted = delete_otps(batch_size=2)

    assert deleted == len(dead) == 5
    assert set(OneTimeCode.objects.values_list("pk", flat=True)) == {c.pk for c in fresh}
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 4  # ids 1-7 in ranges of 2: one statement per range, never one per row
    assert not any(q["sql"].startswith("SELECT") and "code_hash" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_delete_old_job_executions_keeps_the_last_seven_days():
    job = DjangoJob.objects.create(id="some_job", job_state=b"")
    for days in (8, 6):
        DjangoJobExecution.objects.create(
            job=job, status=DjangoJobExecution.SUCCESS, run_time=timezone.now() - timedelta(days=days)
        )

    delete_old_job_executions()

    [kept] = DjangoJobExecution.objects.all()
    assert timezone.now() - kept.run_time < timedelta(days=7)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite's test database lives in memory inside the connection this test drops",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_job_whose_database_connection_dropped_succeeds_on_its_next_run(monkeypatch):
    run_job("heartbeat")
    connection.connection.close()  # the server went away between two runs...
    run_job("heartbeat")  # ...the health check before the job reconnects

    real = WorkerHeartbeat.objects.update_or_create

    def drop_mid_job(*args, **kwargs):
        WorkerHeartbeat.objects.exists()  # the job is under way: its connection was checked and used
        connection.connection.close()  # ...and now the server goes away in the middle of a job
        return real(*args, **kwargs)

    monkeypatch.setattr(WorkerHeartbeat.objects, "update_or_create", drop_mid_job)
    with pytest.raises(DatabaseErrorBase):  # InterfaceError or OperationalError
        run_job("heartbeat")
    monkeypatch.undo()
    before = WorkerHeartbeat.objects.get().last_seen
    run_job("heartbeat")  # close_old_connections() after the failed run dropped the dead connection

    assert WorkerHeartbeat.objects.get().last_seen > before


# --- Registration and operator commands ---------------------------------------------------------------


class InTestJobStore(DjangoJobStore):
    def shutdown(self) -> None:  # the real one closes this thread's connection: the test's transaction
        pass


class RegisteringScheduler(BlockingScheduler):
    """The worker's scheduler minus its loop: start() stores the jobs and returns; no thread touches the DB."""

    def _main_loop(self) -> None:
        pass


@pytest.fixture
def registered(db):
    """Register the jobs as the worker does, on a paused scheduler (nothing runs), at a known time."""
    DjangoJob.objects.create(id="job_from_an_older_release", job_state=b"")
    with time_machine.travel(datetime(2026, 3, 4, 10, 15, tzinfo=UTC), tick=False):  # a Wednesday
        scheduler = RegisteringScheduler(timezone=UTC)
        scheduler.add_jobstore(InTestJobStore(), "default")
        register_jobs(scheduler)
        scheduler.start(paused=True)
        scheduler.shutdown(wait=False)
    return {job.id: job for job in DjangoJob.objects.all()}


def test_every_job_is_stored_with_its_next_run_time(registered):
    assert (
        set(registered)
        == set(jobs())
        == {
            "delete_otps",
            "delete_old_job_executions",
            "expire_trials",
            "trial_ending_reminders",
            "resume_stale_tasks",
            "warn_budgets",
            "heartbeat",
        }
    )
    next_runs = {job_id: job.next_run_time.astimezone(UTC) for job_id, job in registered.items()}
    assert next_runs["delete_otps"] == datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
    assert next_runs["delete_old_job_executions"] == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # Monday
    assert next_runs["expire_trials"] == datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert next_runs["trial_ending_reminders"] == datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
    assert next_runs["resume_stale_tasks"] == datetime(2026, 3, 4, 10, 15, tzinfo=UTC)  # recovers at once
    assert next_runs["warn_budgets"] == datetime(2026, 3, 4, 10, 20, tzinfo=UTC)
    assert next_runs["heartbeat"] == datetime(2026, 3, 4, 10, 15, tzinfo=UTC)  # beats at once


def test_every_job_is_registered_to_run_alone_and_catch_up_once(registered):
    scheduler = RegisteringScheduler(timezone=UTC)
    scheduler.add_jobstore(InTestJobStore(), "default")
    scheduler.start(paused=True)
    try:
        stored = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)

    assert stored and set(stored) == set(jobs())  # there are jobs, and the loop below checks every one of them
    for job in stored.values():
        assert (job.max_instances, job.coalesce) == (1, True)
        assert job.misfire_grace_time >= 30
        assert job.args == (job.id,)


def test_list_shows_jobs_triggers_next_and_last_runs_and_the_worker(registered):
    DjangoJobExecution.objects.create(
        job=registered["delete_otps"], status=DjangoJobExecution.SUCCESS, run_time=timezone.now()
    )
    out = StringIO()

    call_command("scheduler", "--list", stdout=out)

    lines = out.getvalue().splitlines()
    [otps] = [line for line in lines if line.startswith("delete_otps")]
    assert "cron[hour='2', minute='0']" in otps and "2026-03-05 02:00:00" in otps and "Executed" in otps
    assert "Worker: NOT alive" in out.getvalue()


def test_run_runs_one_job_now(db):
    out = StringIO()

    call_command("scheduler", "--run", "heartbeat", stdout=out)

    assert WorkerHeartbeat.objects.get().pid == os.getpid()
    assert "Ran heartbeat" in out.getvalue()


def test_run_with_an_unknown_job_names_the_real_ones(db):
    with pytest.raises(CommandError, match="delete_otps"):
        call_command("scheduler", "--run", "no_such_job")


# --- Real worker processes ----------------------------------------------------------------------------


class WorkerProcess:
    def __init__(self, database_url: str, log: Path, **env) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "scheduler", "--standby-poll", "0.2"],
            cwd=ROOT,
            env=subprocess_env(database_url) | env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, text: str, timeout: float = 30, times: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.output().count(text) < times:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker never logged {text!r}; it logged:\n{self.output()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def start_worker(worker_database, tmp_path):
    workers = []

    def start(**env) -> WorkerProcess:
        worker = WorkerProcess(worker_database, tmp_path / f"worker{len(workers)}.log", **env)
        workers.append(worker)
        return worker

    yield start
    for number, worker in enumerate(workers):
        worker.stop()
        # Captured, so shown only when the test fails: every worker's whole log.
        print(f"--- worker {number} (exit {worker.process.returncode}) ---\n{worker.output()}")
    if connection.vendor == "postgresql":  # let the server end the killed workers' sessions before teardown
        deadline = time.monotonic() + 10
        while _other_sessions() and time.monotonic() < deadline:
            time.sleep(0.1)


def _other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        rows = cursor.fetchall()
        return len(rows)


def test_the_worker_logs_the_guides_lines_and_exits_cleanly_on_sigterm(start_worker):
    worker = start_worker()
    worker.wait_for("Starting scheduler...")

    worker.process.send_signal(signal.SIGTERM)
    code = worker.process.wait(timeout=30)

    log = worker.output()
    assert code == 0
    assert log.index("Added job 'delete_otps'.") < log.index("Added daily job: 'delete_old_job_executions'.")
    assert log.index("Added daily job: 'delete_old_job_executions'.") < log.index("Starting scheduler...")
    for job_id in ("expire_trials", "trial_ending_reminders", "resume_stale_tasks", "heartbeat"):
        assert f"'{job_id}'" in log
    assert "Released the scheduler lock." in log


def test_two_workers_one_leader_and_the_standby_takes_over_when_it_dies(start_worker):
    first = start_worker()
    first.wait_for("Starting scheduler...")
    second = start_worker(LOG_LEVEL="DEBUG")
    second.wait_for("The scheduler lock is still taken.", times=5)  # five polls later, still standing by
    assert "Starting scheduler..." not in second.output()

    first.process.kill()  # SIGKILL: no clean-up; the database (or kernel) frees the lock
    second.wait_for("Starting scheduler...", timeout=60)

    assert second.process.poll() is None
    second.process.send_signal(signal.SIGINT)
    assert second.process.wait(timeout=30) == 0


def test_a_standing_by_worker_also_exits_cleanly_on_sigterm(start_worker):
    leader = start_worker()
    leader.wait_for("Starting scheduler...")
    standby = start_worker()
    standby.wait_for("standing by")

    standby.process.send_signal(signal.SIGTERM)

    assert standby.process.wait(timeout=30) == 0
    assert leader.process.poll() is None


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: on SQLite the worker process runs on its own database file, apart from this test's",
)
def test_a_summary_whose_web_process_died_after_the_202_is_finished_by_the_worker(start_worker):
    from books.models import Summary, SummaryUnlock
    from books.tests.factories import BookFactory

    gemini = fake_gemini.start()
    reader = UserFactory()
    # What the web process left when it was killed right after answering 202: the row, no timer.
    summary = Summary.objects.create(book=BookFactory(), run_after=timezone.now() - timedelta(minutes=2))
    SummaryUnlock.objects.create(user=reader, summary=summary)

    worker = start_worker(
        GOOGLE_API_KEY="worker-test-key",
        SUMMARY_PROVIDER="gemini",
        GEMINI_BASE_URL=f"http://127.0.0.1:{gemini.server_address[1]}",
    )
    deadline = time.monotonic() + 30
    while Summary.objects.get(pk=summary.pk).status != "ready" and time.monotonic() < deadline:
        time.sleep(0.1)

    summary.refresh_from_db()
    assert summary.status == "ready", worker.output()
    assert (summary.provider, gemini.calls) == ("gemini", 1)
    gemini.shutdown()
