from urllib.parse import urlencode

import pytest

from account.tests.factories import PASSWORD

LOGIN = "/api/v1/auth/login/"
FORM = "application/x-www-form-urlencoded"

pytestmark = pytest.mark.django_db


class UnreadableBody:
    """A request body (wsgi.input) that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the request body was read")

    readline = read


def test_a_multipart_body_where_no_file_is_taken_is_a_415_left_unread(api_client, settings):
    # As long as any endpoint takes (longer: RequestSizeLimitMiddleware's 413, test_request_size_limit.py).
    extra = {"CONTENT_LENGTH": str(settings.MULTIPART_MAX_BYTES), "wsgi.input": UnreadableBody()}

    response = api_client.generic("POST", LOGIN, b"--x--", content_type="multipart/form-data; boundary=x", **extra)

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_form_body_still_signs_in(api_client, user):
    body = urlencode({"email": user.email, "password": PASSWORD})

    response = api_client.generic("POST", LOGIN, body, content_type=FORM)

    assert response.status_code == 200
    assert "access" in response.json()


def test_a_form_body_longer_than_a_json_one_may_be_is_a_413_left_unread(api_client, settings):
    extra = {"CONTENT_LENGTH": str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "wsgi.input": UnreadableBody()}

    response = api_client.generic("POST", LOGIN, b"email=a", content_type=FORM, **extra)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
