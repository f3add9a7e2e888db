"""The OpenAPI schema and its docs: every endpoint there, every error a client can get documented, and Swagger UI
served without a CDN. (Every operation is also fuzzed against it: test_schemathesis.py.)"""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_schema_documents_every_auth_endpoint(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/auth/register/",
        "/api/v1/auth/verify-email/",
        "/api/v1/auth/resend-code/",
        "/api/v1/auth/login/",
        "/api/v1/auth/token/refresh/",
        "/api/v1/auth/logout/",
        "/api/v1/auth/password/reset/",
        "/api/v1/auth/password/reset/confirm/",
        "/api/v1/auth/password/change/",
        "/api/v1/account/me/",
        "/api/health/",
    ]:
        assert path in paths, path
    login = paths["/api/v1/auth/login/"]["post"]["responses"]
    assert {"200", "401", "403", "429"} <= set(login)


def test_every_operation_with_a_body_documents_413_and_415(api_client):
    # Found by schemathesis: a multipart body the view could not take answered an undocumented 415.
    schema = api_client.get("/api/schema/?format=json", HTTP_X_FORWARDED_PROTO="https").json()

    with_body = [op for ops in schema["paths"].values() for op in ops.values() if "requestBody" in op]
    assert with_body
    for operation in with_body:
        assert {"413", "415"} <= set(operation["responses"]), operation["operationId"]


def test_every_throttled_operation_documents_503_for_an_unreachable_cache(api_client):
    schema = api_client.get("/api/schema/?format=json", HTTP_X_FORWARDED_PROTO="https").json()

    throttled = [op for ops in schema["paths"].values() for op in ops.values() if "429" in op["responses"]]
    assert throttled
    for operation in throttled:
        assert "503" in operation["responses"], operation["operationId"]


def test_the_schema_shows_the_avatar_as_a_multipart_file_and_documents_the_503(api_client):
    schema = api_client.get("/api/schema/?format=json", HTTP_X_FORWARDED_PROTO="https").json()

    patch = schema["paths"]["/api/v1/account/me/"]["patch"]
    assert {"application/json", "multipart/form-data"} <= set(patch["requestBody"]["content"])
    assert schema["components"]["schemas"]["PatchedProfileUpdateRequest"]["properties"]["avatar"]["format"] == "binary"
    assert {"413", "415"} <= set(patch["responses"])
    assert "avatars_not_configured" in patch["responses"]["503"]["description"]
    assert "multipart/form-data" not in schema["paths"]["/api/v1/auth/login/"]["post"]["requestBody"]["content"]


def test_swagger_ui_is_served_without_a_cdn():
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    assert b"cdn.jsdelivr" not in response.content
