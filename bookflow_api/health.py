from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


def database_is_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True


class HealthView(APIView):
    """Liveness for Render's health check: 200 while the database answers, 503 otherwise."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        responses={
            (200, "application/json"): inline_serializer(
                "Health", {"status": serializers.CharField(), "database": serializers.CharField()}
            )
        },
        tags=["operations"],
    )
    def get(self, request):
        if database_is_up():
            return Response({"status": "ok", "database": "ok"})
        return Response({"status": "unavailable", "database": "unreachable"}, status=503)
