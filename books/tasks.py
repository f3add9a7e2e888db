"""Worker jobs of the books app: plain functions, run by `manage.py scheduler` and testable without it."""

from books.budgets import budgets_warn
from books.trials import expire_trials, trial_ending_reminders

__all__ = ["budgets_warn", "expire_trials", "trial_ending_reminders"]
