"""Worker jobs of the books app: plain functions, run by `manage.py scheduler` and testable without it."""

from datetime import UTC

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from account.worker import Job
from books.budgets import budgets_warn
from books.trials import expire_trials, trial_ending_reminders

__all__ = ["books_jobs", "budgets_warn", "expire_trials", "trial_ending_reminders"]


def books_jobs() -> list[Job]:
    return [
        Job("expire_trials", expire_trials, CronTrigger(minute=0, timezone=UTC), "Added hourly job: '%s'."),
        Job(
            "trial_ending_reminders",
            trial_ending_reminders,
            CronTrigger(minute=30, timezone=UTC),
            "Added hourly job: '%s'.",
        ),
        Job(
            "warn_budgets",
            budgets_warn,
            IntervalTrigger(minutes=5, timezone=UTC),
            "Added job '%s' (every 5 minutes).",
            misfire_grace_time=300,
        ),
    ]
