"""`/api/health/`: the database, plus whatever sections the apps register (the worker's heartbeat, budgets)."""

import copy
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


@dataclass(frozen=True)
class HealthSection:
    read: Callable[[], object]  # reads the database: a DatabaseError means it is unreachable
    field: serializers.Field  # its shape, for the OpenAPI schema
    when_unreachable: object = None  # shown in the 503 answer; None leaves the section out


SECTIONS: dict[str, HealthSection] = {}


def health_section_register(name: str, section: HealthSection) -> None:
    """An app's part of the health answer (called from its AppConfig.ready)."""
    SECTIONS[name] = section


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    database = serializers.ChoiceField(choices=["ok", "unreachable"])

    def get_fields(self) -> dict:
        # Read when the schema is generated, after every app registered its sections; copies, as DRF's own
        # declared fields are, since binding a field to a serializer changes it.
        return super().get_fields() | {name: copy.deepcopy(section.field) for name, section in SECTIONS.items()}

    class Meta:
        ref_name = "Health"


class HealthView(APIView):
    """Liveness for Render's health check: 200 while the database answers, 503 otherwise."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={(code, "application/json"): HealthSerializer for code in (200, 503)}, tags=["operations"])
    def get(self, request):
        """The web process is healthy while the database answers; the worker's state is reported, not
        required (a worker restart must not take the API down)."""
        try:
            sections = {name: section.read() for name, section in SECTIONS.items()}
        except DatabaseError:
            down = {name: s.when_unreachable for name, s in SECTIONS.items() if s.when_unreachable is not None}
            return Response({"status": "unavailable", "database": "unreachable", **down}, status=503)
        return Response({"status": "ok", "database": "ok", **sections})
