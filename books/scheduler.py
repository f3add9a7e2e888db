"""The web process's in-process APScheduler: timers for durable one-off tasks (see bookflow_api/durable.py),
installed as their timer by BooksConfig.ready.

It holds timers only, in memory. Losing them (a restart, a deploy) loses no work: the rows stay
`pending` and the worker's `resume_stale_tasks` runs them.
"""

import atexit
import logging
import os
import sys
import threading
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from django.conf import settings
from django.utils import timezone
from django_apscheduler.util import close_old_connections

logger = logging.getLogger(__name__)

_scheduler: BackgroundScheduler | None = None
_lock = threading.Lock()


def is_runserver_child(argv: list[str] | None = None, environ: dict | None = None) -> bool:
    """True in the process that serves `runserver` requests (the autoreloader's child, or --noreload)."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if len(argv) < 2 or argv[1] != "runserver":
        return False
    return environ.get("RUN_MAIN") == "true" or "--noreload" in argv


def should_start_on_ready(argv: list[str] | None = None, environ: dict | None = None) -> bool:
    """Whether AppConfig.ready() starts the scheduler; gunicorn workers start it from post_worker_init instead."""
    mode = settings.BOOKFLOW_BACKGROUND_SCHEDULER
    if mode == "off":
        return False
    if mode == "on":
        return True
    return is_runserver_child(argv, environ)


def start() -> BackgroundScheduler | None:
    """Start this process's scheduler once (idempotent); never when BOOKFLOW_BACKGROUND_SCHEDULER=off."""
    global _scheduler
    if settings.BOOKFLOW_BACKGROUND_SCHEDULER == "off":
        return None
    with _lock:
        if _scheduler is None or not _scheduler.running:
            _scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"misfire_grace_time": None})
            _scheduler.start()
            atexit.register(shutdown)
            logger.info("Background scheduler started successfully for async tasks.")
    return _scheduler


def shutdown() -> None:
    """Stop taking timers and let running tasks finish."""
    global _scheduler
    with _lock:
        if _scheduler is not None and _scheduler.running:
            _scheduler.shutdown(wait=True)
            logger.info("Background scheduler stopped.")
        _scheduler = None


def is_running() -> bool:
    return _scheduler is not None and _scheduler.running


@close_old_connections
def _run(func: Callable, args: tuple) -> None:
    try:
        func(*args)
    except Exception:
        logger.exception("Task %s%r crashed; the worker will retry it.", func.__name__, args)


def run_later(func: Callable, *args, delay: float = 0) -> None:
    """Set a timer for `func(*args)` in `delay` seconds; without a running scheduler the worker picks it up."""
    if not is_running():
        logger.info("No background scheduler here: %s%r waits for the worker.", func.__name__, args)
        return
    run_date = timezone.now() + timedelta(seconds=delay)
    _scheduler.add_job(_run, "date", run_date=run_date, args=(func, args))
