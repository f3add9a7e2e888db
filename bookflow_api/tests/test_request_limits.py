"""Bodies larger than the API takes: RequestSizeLimitMiddleware refuses a body declared longer than any endpoint
takes before anything reads it, on every path (the admin's forms and Django's own views too, not only the API's
parsers); behind it each parser holds its media type to its own limit, also unread."""

import json

import pytest
from axes.models import AccessAttempt
from django.conf import settings as project_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client, RequestFactory

from bookflow_api.middleware import RequestSizeLimitMiddleware
from bookflow_api.tests.helpers import UnreadableBody, post_raw

MULTIPART = "multipart/form-data; boundary=x"
FORM = "application/x-www-form-urlencoded"
LOGIN = "/api/v1/auth/login/"
ME = "/api/v1/account/me/"

pytestmark = pytest.mark.django_db


def post_declared(path: str, length: int | str, content_type: str = MULTIPART, method: str = "POST"):
    """A request that declares `length` bytes of body, from a body that fails the test if anything reads it."""
    extra = {"CONTENT_LENGTH": str(length), "wsgi.input": UnreadableBody()}
    return Client().generic(method, path, b"--x--", content_type=content_type, **extra)


# The middleware: one cap for every path.


def test_a_multipart_body_past_the_cap_to_the_admin_login_is_refused_unread(settings):
    big = SimpleUploadedFile("x.bin", b"\0" * (settings.MULTIPART_MAX_BYTES + 1))

    response = Client().post("/admin/login/", {"username": "x@example.com", "password": "y", "f": big})

    assert response.status_code == 413
    assert response.json() == {"code": "request_too_large", "detail": "The request body is too large."}
    assert AccessAttempt.objects.count() == 0  # never reached the sign-in


@pytest.mark.parametrize(
    "method, path, content_type",
    [
        ("POST", "/admin/login/", MULTIPART),
        ("POST", "/admin/login/", "application/x-www-form-urlencoded"),
        ("POST", "/admin/account/user/add/", MULTIPART),
        ("PATCH", "/api/v1/account/me/", MULTIPART),
        ("POST", "/api/v1/auth/login/", "application/json"),
        ("POST", "/api/v1/no-such-endpoint/", MULTIPART),
        ("PUT", "/", "application/octet-stream"),
    ],
)
def test_a_body_declared_past_the_cap_is_a_413_on_every_path_before_it_is_read(method, path, content_type):
    response = post_declared(path, project_settings.MULTIPART_MAX_BYTES + 1, content_type, method)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_the_cap_is_the_largest_body_an_endpoint_takes_and_a_body_that_size_goes_on():
    reached = []
    middleware = RequestSizeLimitMiddleware(lambda request: reached.append(request) or HttpResponse("ok"))

    for length in ["", "0", "not-a-number", "-5", str(project_settings.MULTIPART_MAX_BYTES)]:
        request = RequestFactory().post("/admin/login/", b"", content_type=MULTIPART, CONTENT_LENGTH=length)
        assert middleware(request).status_code == 200
    assert len(reached) == 5
    assert project_settings.MULTIPART_MAX_BYTES >= project_settings.AVATAR_MAX_BYTES
    assert project_settings.MULTIPART_MAX_BYTES >= project_settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_a_multipart_body_under_the_cap_still_reaches_the_admin_login():
    small = SimpleUploadedFile("x.bin", b"\0" * 1024)

    response = Client().post("/admin/login/", {"username": "x@example.com", "password": "y", "f": small})

    assert response.status_code == 200  # the form again: a wrong password
    assert AccessAttempt.objects.get().username == "x@example.com"


def test_it_runs_before_anything_that_reads_the_body():
    middleware = project_settings.MIDDLEWARE
    first_reader = "django.contrib.sessions.middleware.SessionMiddleware"  # then CommonMiddleware, the CSRF check
    before = [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",  # static files: GET, no body
        "corsheaders.middleware.CorsMiddleware",  # reads no body; its headers go on the 413
    ]

    assert middleware[: len(before) + 2] == [
        *before,
        "bookflow_api.middleware.RequestSizeLimitMiddleware",
        first_reader,
    ]


def test_a_web_app_on_an_allowed_origin_can_read_the_413(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    extra = {"CONTENT_LENGTH": str(settings.MULTIPART_MAX_BYTES + 1), "wsgi.input": UnreadableBody()}

    response = Client().generic(
        "PATCH", "/api/v1/account/me/", b"--x--", content_type=MULTIPART, HTTP_ORIGIN="https://app.example.com", **extra
    )

    assert response.status_code == 413
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"


# The parsers: each media type's own limit.


def test_without_it_the_multipart_parser_still_refuses_a_body_past_the_cap_unread(auth_client, settings):
    settings.MIDDLEWARE = [
        name for name in settings.MIDDLEWARE if name != "bookflow_api.middleware.RequestSizeLimitMiddleware"
    ]
    extra = {"CONTENT_LENGTH": str(settings.MULTIPART_MAX_BYTES + 1), "wsgi.input": UnreadableBody()}

    response = auth_client.generic("PATCH", "/api/v1/account/me/", b"--x--", content_type=MULTIPART, **extra)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_multipart_body_longer_than_the_limit_is_refused_before_it_is_read(auth_client, settings):
    declared = str(settings.MULTIPART_MAX_BYTES + 1)
    extra = {"CONTENT_LENGTH": declared, "wsgi.input": UnreadableBody()}

    response = auth_client.generic("PATCH", ME, b"--x--", content_type="multipart/form-data; boundary=x", **extra)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_chunked_body_without_a_length_is_never_read(auth_client, user):
    extra = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": UnreadableBody()}

    response = auth_client.generic("PATCH", ME, b"-", content_type="multipart/form-data; boundary=x", **extra)

    assert response.status_code == 200  # Django's WSGI request sees no body at all: nothing to change
    user.refresh_from_db()
    assert user.first_name == "Ada"


def test_a_form_body_longer_than_a_json_one_may_be_is_a_413_left_unread(api_client, settings):
    extra = {"CONTENT_LENGTH": str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "wsgi.input": UnreadableBody()}

    response = api_client.generic("POST", LOGIN, b"email=a", content_type=FORM, **extra)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_json_body_larger_than_the_upload_limit_is_refused(api_client, settings):
    padding = "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = post_raw(api_client, LOGIN, json.dumps({"email": "a@example.com", "password": "x", "pad": padding}))

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"
