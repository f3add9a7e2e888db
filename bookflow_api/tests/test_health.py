from unittest import mock

from django.db import OperationalError


def test_health_reports_the_database(api_client, db):
    response = api_client.get("/api/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_is_503_when_the_database_is_unreachable(api_client, db):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")):
        response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
