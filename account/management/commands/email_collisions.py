"""`python manage.py email_collisions`: the migrations' address report, on demand (DEPLOYMENT.md)."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from account.addresses import ADDRESS_FIELDS, address_report


class Command(BaseCommand):
    help = (
        "Report stored email addresses that today's rules spell differently, that share one mailbox (collisions), "
        "or that they refuse. Changes nothing unless --rewrite."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--rewrite",
            action="store_true",
            help="Give every row that collides with no other its one spelling, as the migration did.",
        )

    def handle(self, *args, rewrite: bool, **options) -> None:
        lines = []
        with transaction.atomic():
            for label, field_name in ADDRESS_FIELDS:
                lines += address_report(apps.get_model(label), field_name, rewrite=rewrite).lines()
        self.stdout.write("\n".join(lines) if lines else "Every stored address is in its one spelling.")
