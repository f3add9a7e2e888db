"""Request parsers that refuse hostile bodies with a 4xx instead of crashing."""

import json

from django.conf import settings
from rest_framework import exceptions, parsers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


class SafeJSONParser(parsers.JSONParser):
    """DRF's JSON parser, bounded: the body may not exceed DATA_UPLOAD_MAX_MEMORY_SIZE, and JSON nested
    deeper than Python can recurse is a parse error, not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_constant=_reject_constant)
        except (ValueError, RecursionError, LookupError) as exc:  # LookupError: charset=rot13 and friends
            raise exceptions.ParseError(f"JSON parse error - {type(exc).__name__}") from exc


class SafeFormParser(parsers.FormParser):
    """DRF's form parser, bounded like JSON (DATA_UPLOAD_MAX_MEMORY_SIZE, refused unread); a body in a charset
    that is not a text encoding is a parse error, not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        _refuse_longer_than(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, parser_context)
        try:
            return super().parse(stream, media_type, parser_context)
        except (LookupError, UnicodeError) as exc:
            raise exceptions.ParseError(f"Form parse error - {type(exc).__name__}") from exc


class SafeMultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, bounded: a body longer than MULTIPART_MAX_BYTES is refused before any of it is
    read. (Django counts only the text fields against DATA_UPLOAD_MAX_MEMORY_SIZE, never the files.)"""

    def parse(self, stream, media_type=None, parser_context=None):
        _refuse_longer_than(settings.MULTIPART_MAX_BYTES, parser_context)
        return super().parse(stream, media_type, parser_context)


def _refuse_longer_than(limit: int | None, parser_context: dict) -> None:
    """Raise RequestTooLarge when the declared Content-Length passes `limit`. The declaration is what counts:
    Django's WSGI request reads no further than it, and a body without one (chunked) as empty."""
    meta = parser_context["request"].META
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        raise RequestTooLarge()


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
