"""The API's JSON renderer (bookflow_api/renderers.py): orjson for speed, the same JSON values as DRF's
JSONRenderer, and DRF's ASCII output for what orjson refuses, so a lone surrogate echoed in an error is no 500."""

import dataclasses
import datetime
import json
import uuid
from collections import OrderedDict
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import orjson
import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from account.tests.helpers import ME, RESEND
from bookflow_api.renderers import FastJSONRenderer
from bookflow_api.tests.helpers import post_raw

UTC = datetime.UTC


class AsciiDRF(JSONRenderer):
    """What the API rendered with before: DRF's JSONRenderer with UNICODE_JSON off."""

    ensure_ascii = True


def both(data, accepted_media_type="application/json"):
    return (
        FastJSONRenderer().render(data, accepted_media_type, {}),
        AsciiDRF().render(data, accepted_media_type, {}),
    )


VALUES = {
    "aware UTC, microseconds": datetime.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC),
    "aware UTC, whole second": datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
    "zoneinfo UTC": datetime.datetime(2026, 3, 4, 5, 6, 7, 1, tzinfo=ZoneInfo("UTC")),
    "London in winter (offset 0)": datetime.datetime(2026, 1, 4, 5, 6, 7, tzinfo=ZoneInfo("Europe/London")),
    "Kolkata": datetime.datetime(2026, 7, 4, 5, 6, 7, 10, tzinfo=ZoneInfo("Asia/Kolkata")),
    # orjson itself would round this offset to +00:20: datetimes go through DRF's code.
    "Amsterdam 1900 (+00:19:32)": datetime.datetime(1900, 7, 4, 5, 6, 7, tzinfo=ZoneInfo("Europe/Amsterdam")),
    "naive": datetime.datetime(2026, 3, 4, 5, 6, 7, 890000),
    "date": datetime.date(2026, 3, 4),
    "time": datetime.time(5, 6, 7, 8),
    "timedelta": datetime.timedelta(hours=1, microseconds=5),
    "Decimal": Decimal("12.50"),
    "UUID": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "lazy string": gettext_lazy("This field is required."),
    "ReturnDict": ReturnDict({"a": 1, "b": [1, 2]}, serializer=None),
    "ReturnList": ReturnList([{"a": 1}], serializer=None),
    "OrderedDict": OrderedDict([("z", 1), ("a", 2)]),
    "tuple": (1, "two", None, True),
    "bytes": b"blob",
    "int past 64 bits": 2**70,
    "non-string keys": {1: "one", None: "none"},
    "lone surrogate": "a\ud800b",
    "line separator": "a\u2028b",
    "float": 4.5,
}


@pytest.mark.parametrize("name", VALUES)
def test_each_value_renders_exactly_as_drf_rendered_it(name):
    fast, drf = both({"value": VALUES[name], "nested": [VALUES[name]]})

    assert fast == drf or json.loads(fast) == json.loads(drf)
    if name != "line separator":  # orjson leaves U+2028 as UTF-8, DRF escapes it: the same string either way
        assert fast == drf


def test_non_ascii_text_is_utf8_with_the_same_value():
    data = {"title": "Les Misérables — 戦争と平和 🙂", "authors": ["Zoë"]}

    fast, drf = both(data)

    assert fast == json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    assert b"\\u" in drf and b"\\u" not in fast
    assert json.loads(fast) == json.loads(drf) == data


def test_none_is_an_empty_body_and_an_indent_asked_for_is_honoured_as_before():
    assert both(None) == (b"", b"")
    fast, drf = both({"a": [1, {"b": "é"}]}, "application/json; indent=4")
    assert fast == drf
    assert b'\n    "a"' in fast


def test_what_drf_refused_is_still_refused():
    @dataclasses.dataclass
    class Point:
        x: int

    for value in [Point(1), object(), datetime.time(5, tzinfo=UTC)]:
        with pytest.raises((TypeError, ValueError)):
            AsciiDRF().render({"value": value})
        with pytest.raises((TypeError, ValueError)):
            FastJSONRenderer().render({"value": value})


def test_the_media_type_is_application_json_without_a_charset():
    assert (FastJSONRenderer.media_type, FastJSONRenderer.format, FastJSONRenderer.charset) == (
        "application/json",
        "json",
        None,
    )


@pytest.mark.django_db
def test_a_lone_surrogate_echoed_in_an_error_is_a_400_with_a_json_body(api_client):
    with mock.patch.object(FastJSONRenderer.fallback, "render", wraps=FastJSONRenderer.fallback.render) as fallback:
        response = post_raw(api_client, RESEND, json.dumps({"email": "a@example.com", "purpose": "x\ud800"}))

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.content.isascii() and b"x\\ud800" in response.content
    assert "x\ud800" in json.loads(response.content)["errors"]["purpose"][0]
    assert fallback.call_count == 1


@pytest.mark.django_db
def test_non_ascii_text_echoed_in_an_error_comes_back_as_utf8_from_orjson(api_client):
    with mock.patch("orjson.dumps", wraps=orjson.dumps) as dumps:
        response = post_raw(api_client, RESEND, json.dumps({"email": "a@example.com", "purpose": "Zoë"}))

    assert response.status_code == 400
    assert "Zoë".encode() in response.content
    assert "Zoë" in response.json()["errors"]["purpose"][0]
    assert dumps.call_count == 1


@pytest.mark.django_db
def test_a_normal_response_is_rendered_by_orjson_as_utf8(auth_client, user):
    user.first_name = "Zoë"
    user.save(update_fields=["first_name"])

    with mock.patch("orjson.dumps", wraps=orjson.dumps) as dumps:
        response = auth_client.get(ME)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert b'"first_name":"Zo\xc3\xab"' in response.content
    assert response.json()["first_name"] == "Zoë"
    assert response.json()["date_joined"].endswith("Z")
    assert dumps.call_count == 1


@pytest.mark.django_db
def test_the_schema_and_its_docs_keep_their_own_renderers_and_document_application_json(client):
    yaml = client.get("/api/schema/")
    as_json = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert yaml.status_code == as_json.status_code == docs.status_code == 200
    assert yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert docs["Content-Type"].startswith("text/html")
    me = as_json.json()["paths"]["/api/v1/account/me/"]["get"]["responses"]["200"]["content"]
    assert list(me) == ["application/json"]
