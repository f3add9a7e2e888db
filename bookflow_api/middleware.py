"""Middleware of the project's own (settings.MIDDLEWARE)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from bookflow_api.parsers import RequestTooLarge


class RequestSizeLimitMiddleware:
    """Refuses, before anything reads it, a body declared longer than MULTIPART_MAX_BYTES, the largest any
    endpoint takes (the avatar upload): 413 `request_too_large`, in the API's error shape, on every path.

    The API's parsers bound their own bodies, but Django's views (the admin's forms) read theirs as soon as
    anything touches request.POST (the CSRF check does, first), and Django bounds only a multipart body's
    text fields, never its files: a multipart body of any size would be parsed in full, its files written to
    disk. After SecurityMiddleware and CorsMiddleware (the 413 keeps their headers: a web app on another origin
    can read it), before anything that reads a body. The declared length is what counts: Django's WSGI
    request reads no further than it, and a body without one (chunked) as empty."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.MULTIPART_MAX_BYTES
        if limit is not None and _declared_length(request) > limit:
            return JsonResponse({"code": "request_too_large", "detail": RequestTooLarge.default_detail}, status=413)
        return self.get_response(request)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # as Django's WSGI request takes it: no body
