from django.apps import AppConfig
from django.conf import settings


class BooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "books"

    def ready(self) -> None:
        from account.addresses import register_address_field
        from account.quotas import quota_register
        from account.signals import email_verified
        from account.worker import jobs_register
        from bookflow_api import durable
        from bookflow_api.health import HealthSection, health_section_register
        from books import scheduler
        from books.models import FreeTrial, Summary
        from books.serializers import BudgetsSerializer, budgets_health
        from books.summaries import generate_summary, summaries_used_since, summary_round_failed
        from books.tasks import books_jobs
        from books.trials import on_email_verified, trial_grant_run

        register_address_field("books.FreeTrial")  # `manage.py email_collisions` checks trials' addresses too
        durable.task_kind_register(Summary, generate_summary, abandoned=summary_round_failed)
        durable.task_kind_register(FreeTrial, trial_grant_run)
        durable.timer_install(scheduler.run_later)
        jobs_register(books_jobs)
        quota_register("summaries", limit=lambda plan: settings.PLAN_QUOTAS[plan], used_since=summaries_used_since)
        email_verified.connect(on_email_verified, dispatch_uid="books.trials.on_email_verified")
        health_section_register(
            "budgets",
            HealthSection(
                read=budgets_health,
                field=BudgetsSerializer(
                    required=False,
                    help_text="Today's use of the daily call budgets (absent while the database is unreachable).",
                ),
            ),
        )

        # runserver's serving child (or BOOKFLOW_BACKGROUND_SCHEDULER=on); gunicorn workers start it
        # from gunicorn.conf.py's post_worker_init, so a --preload master never runs one.
        if scheduler.should_start_on_ready():
            scheduler.start()
