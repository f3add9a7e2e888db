"""Conditional GETs: strong ETags, `If-None-Match` answered 304, and JSON bodies sent as stored bytes."""

import hashlib

from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_etags, quote_etag
from rest_framework.settings import api_settings

# Per-reader answers: only the reader's own (private) cache keeps them, and asks again each time (no-cache).
CACHE_CONTROL = "private, no-cache"


def etag_for(body: bytes) -> str:
    return quote_etag(hashlib.sha256(body).hexdigest()[:32])


def etag_of(*parts: object) -> str:
    """An ETag for a state named by its parts (ids, timestamps, flags), computed without rendering anything."""
    return etag_for(repr(parts).encode())


def unchanged(request: HttpRequest, etag: str) -> bool:
    """Whether the client's `If-None-Match` names this ETag (weak or strong, or `*`)."""
    header = request.headers.get("If-None-Match")
    if not header or not etag:
        return False
    tags = [tag.removeprefix("W/") for tag in parse_etags(header)]
    return "*" in tags or etag in tags


def not_modified(etag: str) -> HttpResponse:
    response = HttpResponse(status=304)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


def render_json(data) -> bytes:
    """`data` as the API's configured JSON renderer writes it."""
    return api_settings.DEFAULT_RENDERER_CLASSES[0]().render(data)


def stored_json(body: bytes, etag: str) -> HttpResponse:
    """A JSON answer sent as the bytes stored for it."""
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response
