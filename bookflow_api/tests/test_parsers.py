"""The bodies the API reads (JSON, forms, multipart where a file is taken) and how it refuses the rest:
unreadable, hostile, or of a media type no endpoint takes, always a 4xx. (Bodies too large: test_request_limits.py.)"""

from urllib.parse import urlencode

import pytest

from account.tests.factories import PASSWORD
from bookflow_api.tests.helpers import UnreadableBody, post_raw

LOGIN = "/api/v1/auth/login/"
REGISTER = "/api/v1/auth/register/"
REFRESH = "/api/v1/auth/token/refresh/"
FORM = "application/x-www-form-urlencoded"

pytestmark = pytest.mark.django_db


def test_a_form_body_still_signs_in(api_client, user):
    body = urlencode({"email": user.email, "password": PASSWORD})

    response = api_client.generic("POST", LOGIN, body, content_type=FORM)

    assert response.status_code == 200
    assert "access" in response.json()


def test_malformed_json_is_a_400_with_a_code(api_client):
    response = api_client.post("/api/v1/auth/login/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize("url", [LOGIN, REGISTER, REFRESH])
def test_deeply_nested_json_is_a_400_not_a_500(api_client, url):
    response = post_raw(api_client, url, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_too_many_form_fields_is_a_json_400(api_client):
    body = "&".join(f"f{i}=1" for i in range(1500)) + "&email=a@example.com&password=x"

    response = post_raw(api_client, LOGIN, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "code" in response.json()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=rot13",
        "application/json; charset=hex",
        "application/x-www-form-urlencoded; charset=base64",
    ],
)
def test_a_body_declared_in_a_non_text_charset_is_a_4xx_not_a_500(api_client, content_type):
    # codecs.lookup() knows these codecs, so Django accepts the charset, but bytes.decode() raises LookupError.
    api_client.raise_request_exception = False
    body = b'{"email": "a@example.com", "password": "x"}' if "json" in content_type else b"email=a%40example.com"

    response = api_client.generic("POST", "/api/v1/auth/login/", body, content_type=content_type)

    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"] == "application/json"


def test_unsupported_media_type_is_a_415(api_client):
    response = api_client.post("/api/v1/auth/login/", "<xml/>", content_type="application/xml")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_multipart_body_where_no_file_is_taken_is_a_415_left_unread(api_client, settings):
    # As long as any endpoint takes (longer: RequestSizeLimitMiddleware's 413, test_request_limits.py).
    extra = {"CONTENT_LENGTH": str(settings.MULTIPART_MAX_BYTES), "wsgi.input": UnreadableBody()}

    response = api_client.generic("POST", LOGIN, b"--x--", content_type="multipart/form-data; boundary=x", **extra)

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
