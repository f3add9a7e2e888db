"""Gunicorn settings for the web service (gunicorn reads this file from the working directory)."""

import os
import sys

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"


def on_starting(server) -> None:
    """Refuse to start half-configured, once, in the master: one line naming the variable, no worker boots."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookflow_api.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.SECRET_KEY  # noqa: B018 - loading the settings is the check
    except ImproperlyConfigured as exc:
        server.log.error("Configuration error: %s", exc)
        sys.exit(1)


def post_worker_init(worker) -> None:
    """Each worker, once it has loaded Django, runs its own scheduler for one-off task timers; the master
    never does (not even with --preload, where the app is imported before the fork)."""
    from books import scheduler
    from books.providers import gemini  # noqa: F401 - import the Gemini SDK now, not in the first summary

    scheduler.start()


def worker_exit(server, worker) -> None:
    from books import scheduler

    scheduler.shutdown()
