"""Task functions for the books app: plain functions, run by the schedulers and testable without them."""

import logging
from datetime import timedelta

from account.emails import email_task_run
from account.models import EmailTask
from bookflow_api.durable import tasks_abandon, tasks_to_resume
from books.budgets import budgets_warn
from books.models import FreeTrial, Summary
from books.summaries import generate_summary, summary_round_failed
from books.trials import expire_trials, trial_ending_reminders, trial_grant_run

__all__ = ["budgets_warn", "expire_trials", "resume_stale_tasks", "trial_ending_reminders"]

logger = logging.getLogger(__name__)

# A pending task this late lost its timer (its web process restarted); run it here.
RESUME_GRACE = timedelta(seconds=30)


def resume_stale_tasks() -> int:
    """Run one-off tasks whose timer was lost or whose run died mid-way; fail those whose every run died
    (refunding their readers); return how many were picked up."""
    resumed = 0
    for model, run in ((Summary, generate_summary), (EmailTask, email_task_run), (FreeTrial, trial_grant_run)):
        for task_id in tasks_to_resume(model, grace=RESUME_GRACE):
            run(task_id, stale=True)
            resumed += 1
        for task_id in tasks_abandon(model):
            logger.error("%s %s abandoned: each of its runs died before it finished.", model.__name__, task_id)
            if model is Summary:
                summary_round_failed(task_id)
    if resumed:
        logger.info("Resumed %s stale task(s).", resumed)
    return resumed
