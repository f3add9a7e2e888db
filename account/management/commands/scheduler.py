"""`python manage.py scheduler`: the worker that runs the cron jobs (see account/worker.py)."""

from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from account.tasks import worker_status
from account.worker import STANDBY_POLL_SECONDS, Worker, jobs


class Command(BaseCommand):
    help = "Run the cron jobs (one leader among all workers); --list shows them, --run JOB_ID runs one now."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--list", action="store_true", help="Print the jobs, their next and last runs, and exit.")
        parser.add_argument("--run", metavar="JOB_ID", help="Run one job now, in this process, and exit.")
        parser.add_argument(
            "--standby-poll",
            type=float,
            default=STANDBY_POLL_SECONDS,
            help="Seconds between tries for the leader lock while another worker holds it.",
        )
        parser.add_argument(
            "--every",
            type=float,
            metavar="SECONDS",
            help="Run every job every SECONDS instead of on its schedule (for stress tests, never in production).",
        )

    def handle(self, *args, **options) -> None:
        if options["list"]:
            self.list_jobs()
        elif options["run"]:
            self.run_one(options["run"])
        else:
            Worker(standby_poll=options["standby_poll"], every=options["every"]).run()

    def run_one(self, job_id: str) -> None:
        known = jobs()
        if job_id not in known:
            raise CommandError(f"No job {job_id!r}. Jobs: {', '.join(known)}.")
        result = known[job_id].func()
        self.stdout.write(f"Ran {job_id}" + (f": {result}" if isinstance(result, int) else "") + ".")

    def list_jobs(self) -> None:
        known = jobs()
        stored = {job.id: job for job in DjangoJob.objects.filter(id__in=list(known))}
        rows = [("JOB", "TRIGGER", "NEXT RUN (UTC)", "LAST RUN (UTC)", "LAST STATUS")]
        for job_id, job in known.items():
            last = DjangoJobExecution.objects.filter(job_id=job_id).order_by("-run_time").first()
            next_run = stored[job_id].next_run_time if job_id in stored else None
            rows.append(
                (
                    job_id,
                    str(job.trigger),
                    ("paused" if next_run is None else _when(next_run))
                    if job_id in stored
                    else "not registered (start the worker)",
                    _when(last.run_time) if last else "never",
                    last.status if last else "",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        status = worker_status()
        seen = _when(status["last_seen"]) if status["last_seen"] else "never"
        self.stdout.write(f"\nWorker: {'alive' if status['alive'] else 'NOT alive'} (last heartbeat: {seen}).")


def _when(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
