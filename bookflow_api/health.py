from django.db import DatabaseError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from account.tasks import worker_status
from books.budgets import budgets_today

BUDGET = inline_serializer(
    "BudgetUse",
    {
        "limit": serializers.IntegerField(help_text="Calls allowed today (GEMINI_ / GOOGLE_BOOKS_DAILY_CALL_BUDGET)."),
        "used": serializers.IntegerField(),
        "remaining": serializers.IntegerField(),
        "refused": serializers.IntegerField(help_text="Calls not made today because the budget was spent."),
        "resets_at": serializers.DateTimeField(help_text="Midnight Pacific time, when Google resets its quotas."),
    },
)

HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
        "database": serializers.ChoiceField(choices=["ok", "unreachable"]),
        "worker": inline_serializer(
            "WorkerHealth",
            {
                "last_seen": serializers.DateTimeField(allow_null=True, help_text="The worker's last heartbeat."),
                "alive": serializers.BooleanField(help_text="A heartbeat within the last 90 seconds."),
            },
        ),
        "budgets": inline_serializer(
            "Budgets",
            {"gemini": BUDGET, "google_books": BUDGET},
            required=False,
            help_text="Today's use of the daily call budgets (absent while the database is unreachable).",
        ),
    },
)


class HealthView(APIView):
    """Liveness for Render's health check: 200 while the database answers, 503 otherwise."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={(code, "application/json"): HEALTH for code in (200, 503)}, tags=["operations"])
    def get(self, request):
        """The web process is healthy while the database answers; the worker's state is reported, not
        required (a worker restart must not take the API down)."""
        try:
            worker = worker_status()  # one query: it reads the heartbeat and proves the database answers
            budgets = {name: _budget(use) for name, use in budgets_today().items()}
        except DatabaseError:
            worker = {"last_seen": None, "alive": False}
            return Response({"status": "unavailable", "database": "unreachable", "worker": worker}, status=503)
        return Response({"status": "ok", "database": "ok", "worker": worker, "budgets": budgets})


def _budget(use) -> dict:
    return {
        "limit": use.limit,
        "used": use.used,
        "remaining": use.remaining,
        "refused": use.refused,
        "resets_at": use.resets_at,
    }
