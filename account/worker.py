"""The scheduler worker (`python manage.py scheduler`): cron jobs on a BlockingScheduler, one leader at a time.

The jobs are plain functions (`account/tasks.py`, `books/tasks.py`), registered by their apps' AppConfig.ready
(`jobs_register`); django-apscheduler's DjangoJobStore
keeps them and their executions in the shared database. Only the worker holding the leader lock runs
them: a PostgreSQL advisory lock (released by the server the moment the worker's session dies), or a
file lock on SQLite. A second worker stands by and takes over when the lock frees up.
"""

import contextlib
import fcntl
import hashlib
import logging
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.db import DEFAULT_DB_ALIAS, connections
from django_apscheduler.jobstores import DjangoJobStore
from django_apscheduler.models import DjangoJob
from django_apscheduler.util import close_old_connections

from account import tasks as account_tasks

logger = logging.getLogger(__name__)

STANDBY_POLL_SECONDS = 10.0
LOCK_CHECK_SECONDS = 10.0
SHUTDOWN_GRACE_SECONDS = 20.0  # Render waits 30 s after SIGTERM before it kills the process
LOCK_KEY = int.from_bytes(hashlib.sha256(b"bookflow-scheduler").digest()[:8], "big") >> 1  # a positive bigint


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable
    trigger: BaseTrigger
    added_log: str
    misfire_grace_time: int = 3600
    run_at_start: bool = False


_JOB_SOURCES: list[Callable[[], list[Job]]] = []


def jobs_register(source: Callable[[], list[Job]]) -> None:
    """An app's cron jobs, from its AppConfig.ready: `source()` builds them (fresh triggers on every call)."""
    if source not in _JOB_SOURCES:
        _JOB_SOURCES.append(source)


def jobs() -> dict[str, Job]:
    """Every app's jobs by id, in the order the apps registered them (account's first)."""
    return {job.id: job for source in _JOB_SOURCES for job in source()}


def account_jobs() -> list[Job]:
    return [
        Job("delete_otps", account_tasks.delete_otps, CronTrigger(hour=2, minute=0, timezone=UTC), "Added job '%s'."),
        Job(
            "delete_old_job_executions",
            account_tasks.delete_old_job_executions,
            CronTrigger(day_of_week="mon", hour=0, minute=0, timezone=UTC),
            "Added daily job: '%s'.",  # the guide's words (from django-apscheduler's example), though it is weekly
        ),
        Job(
            "resume_stale_tasks",
            account_tasks.resume_stale_tasks,
            IntervalTrigger(minutes=1, timezone=UTC),
            "Added job '%s' (every minute).",
            misfire_grace_time=60,
            run_at_start=True,  # a deploy may just have killed web processes holding timers
        ),
        Job(
            "heartbeat",
            account_tasks.heartbeat,
            IntervalTrigger(seconds=30, timezone=UTC),
            "Added job '%s' (every 30 seconds).",
            misfire_grace_time=30,
            run_at_start=True,
        ),
    ]


_running: set[str] = set()
_running_lock = threading.Lock()


@close_old_connections  # a connection that dropped since the last run (or during this one) is replaced, not reused
def run_job(job_id: str) -> object:
    """What the scheduler calls: the job's function between fresh database connections."""
    job = jobs()[job_id]
    with _running_lock:
        _running.add(job_id)
    try:
        return job.func()
    finally:
        with _running_lock:
            _running.discard(job_id)


def running_jobs() -> set[str]:
    with _running_lock:
        return set(_running)


# --- Leadership ---------------------------------------------------------------------------------------


class PostgresLeadership:
    """A session-level advisory lock on a connection of its own, outside Django's per-thread connections."""

    def __init__(self) -> None:
        self._wrapper = None

    def acquire(self) -> bool:
        try:
            if self._wrapper is None:
                self._wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
                self._wrapper.ensure_connection()
            with self._wrapper.connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
                return bool(cursor.fetchone()[0])
        except Exception as exc:  # Django's or psycopg2's (the raw connection): the database is unreachable
            logger.warning("Could not ask for the scheduler lock: %s", exc)
        self._close()
        return False

    def held(self) -> bool:
        """True while our session (and so the lock) is alive."""
        try:
            with self._wrapper.connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            return True
        except Exception:
            return False

    def release(self) -> None:
        # On failure, closing the session below releases the lock anyway.
        with contextlib.suppress(Exception), self._wrapper.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        self._close()

    def _close(self) -> None:
        if self._wrapper is not None:
            with contextlib.suppress(Exception):
                self._wrapper.close()
            self._wrapper = None


class FileLeadership:
    """An exclusive `flock` beside the SQLite database; the kernel frees it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = None

    def acquire(self) -> bool:
        file = open(self.path, "a+")  # noqa: SIM115 - held open for as long as we lead
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            return False
        self._file = file
        return True

    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def leadership_for_database():
    settings_dict = connections[DEFAULT_DB_ALIAS].settings_dict
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        return PostgresLeadership()
    name = str(settings_dict["NAME"])
    if name and ":memory:" not in name and "mode=memory" not in name:
        return FileLeadership(Path(f"{name}.scheduler.lock"))
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return FileLeadership(Path(tempfile.gettempdir()) / f"bookflow-scheduler-{digest}.lock")


# --- The worker ---------------------------------------------------------------------------------------


@dataclass
class Worker:
    standby_poll: float = STANDBY_POLL_SECONDS
    lock_check: float = LOCK_CHECK_SECONDS
    shutdown_grace: float = SHUTDOWN_GRACE_SECONDS
    every: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Stand by until leader, run the jobs while leader, until SIGTERM/SIGINT."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        leadership = leadership_for_database()
        standing_by = False
        while not self.stop.is_set():
            if not leadership.acquire():
                if not standing_by:
                    logger.info(
                        "Another worker holds the scheduler lock; standing by (checking every %g s).", self.standby_poll
                    )
                    standing_by = True
                logger.debug("The scheduler lock is still taken.")
                self.stop.wait(self.standby_poll)
                continue
            standing_by = False
            logger.info("Acquired the scheduler lock: this worker runs the jobs.")
            try:
                self._lead(leadership)
            finally:
                leadership.release()
                logger.info("Released the scheduler lock.")
        logger.info("Scheduler worker stopped.")

    def _on_signal(self, signum, frame) -> None:
        # Only set the flag: the interrupted main loop may hold the scheduler's locks; the watcher stops it.
        logger.info("Received %s; shutting down gracefully.", signal.Signals(signum).name)
        self.stop.set()

    def _lead(self, leadership) -> None:
        scheduler = BlockingScheduler(timezone=UTC, executors={"default": ThreadPoolExecutor(4)})
        scheduler.add_jobstore(DjangoJobStore(), "default")
        register_jobs(scheduler, every=self.every)
        threading.Thread(target=self._watch, args=(leadership, scheduler), daemon=True).start()
        logger.info("Starting scheduler...")
        try:
            scheduler.start()  # blocks until the watcher shuts it down
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            self._wait_for_running_jobs()

    def _watch(self, leadership, scheduler) -> None:
        """Stop the scheduler when asked to (a signal) or when the leader lock is lost."""
        while not self.stop.wait(self.lock_check):
            if not leadership.held():
                logger.error("Lost the scheduler lock (database connection gone); stopping the jobs here.")
                break
        deadline = time.monotonic() + 10
        while not scheduler.running and time.monotonic() < deadline:  # a signal may come before start()
            time.sleep(0.01)
        if scheduler.running:
            scheduler.shutdown(wait=False)

    def _wait_for_running_jobs(self) -> None:
        deadline = time.monotonic() + self.shutdown_grace
        while (running := running_jobs()) and time.monotonic() < deadline:
            time.sleep(0.1)
        if running:
            logger.warning("Gave up waiting for job(s) %s after %g s.", ", ".join(sorted(running)), self.shutdown_grace)


def register_jobs(scheduler, *, every: float | None = None) -> None:
    """Add every job (replacing older definitions) and drop the ones this code no longer defines.

    `every` runs each job every that many seconds instead of on its schedule (`make stress`).
    """
    current = jobs()  # fresh triggers: an interval counts from now, not from when the app was loaded
    obsolete = DjangoJob.objects.exclude(id__in=list(current)).values_list("id", flat=True)
    for job_id in list(obsolete):
        DjangoJob.objects.filter(id=job_id).delete()
        logger.info("Removed job '%s': this version no longer defines it.", job_id)
    for job in current.values():
        extra = {"next_run_time": datetime.now(UTC)} if job.run_at_start else {}
        scheduler.add_job(
            run_job,
            trigger=job.trigger if every is None else IntervalTrigger(seconds=every, timezone=UTC),
            args=[job.id],
            id=job.id,
            name=job.id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=job.misfire_grace_time,
            **extra,
        )
        logger.info(job.added_log, job.id)
