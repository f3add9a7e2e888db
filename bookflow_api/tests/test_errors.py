"""One error shape for the whole API: unknown URLs, wrong methods, invalid input, crashes, CSRF refusals and an
unreachable cache all answer JSON with a `code`."""

import json

import pytest
from django.test import Client, RequestFactory, override_settings

pytestmark = pytest.mark.django_db


def test_unknown_api_url_is_a_json_404(api_client):
    response = api_client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such endpoint."}


def test_a_post_to_an_unknown_api_url_is_a_json_404_even_with_a_browser_session():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/api/v1/books//summary/", {}, content_type="application/json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_wrong_method_is_a_json_405(api_client):
    response = api_client.get("/api/v1/auth/login/")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_a_json_list_body_is_a_validation_error_not_a_crash(api_client):
    for path in ["/api/v1/auth/login/", "/api/v1/auth/resend-code/", "/api/v1/auth/register/"]:
        response = api_client.post(path, [1, 2], format="json")

        assert response.status_code == 400, path
        assert response.json()["code"] == "invalid"


def test_unhandled_errors_render_as_json(settings):
    from bookflow_api.errors import server_error

    response = server_error(None)

    assert response.status_code == 500
    assert b'"code": "server_error"' in response.content


def test_a_csrf_refusal_under_the_api_is_json():
    from bookflow_api.errors import csrf_failure

    response = csrf_failure(RequestFactory().post("/api/v1/auth/login/"), reason="CSRF cookie not set.")

    assert response.status_code == 403
    assert json.loads(response.content)["code"] == "csrf_failed"


def test_an_unreachable_cache_answers_503_never_500(db, api_client):
    unreachable = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    with override_settings(CACHES={"default": unreachable}):
        response = api_client.post("/api/v1/auth/login/", {"email": "a@example.com", "password": "x"}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "cache_unavailable"
    assert response["Retry-After"] == "30"
