"""One error shape for the whole API: `{"code", "detail", "errors"?}`."""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from bookflow_api.parsers import RequestTooLarge

try:  # the shared cache's client (REDIS_URL); absent, no cache error can happen
    from redis.exceptions import ConnectionError as CacheConnectionError
    from redis.exceptions import TimeoutError as CacheTimeoutError

    CACHE_ERRORS: tuple[type[Exception], ...] = (CacheConnectionError, CacheTimeoutError)
except ImportError:  # pragma: no cover
    CACHE_ERRORS = ()

logger = logging.getLogger(__name__)


class CacheUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "cache_unavailable"
    default_detail = "The service is briefly unavailable. Try again in a minute."


class ApplicationError(exceptions.APIException):
    """A business-rule failure with a stable `code`; services raise it, the handler renders it."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.code = code
        self.status_code = status_code
        self.errors = errors


def _first_message(data) -> str:
    if isinstance(data, dict):
        return _first_message(next(iter(data.values()), ""))
    if isinstance(data, list):
        return _first_message(data[0]) if data else ""
    return str(data)


def _flat_errors(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    """Per-field messages as `{"field": ["..."]}` always: nested ones (an item of a list, a field of an
    object) get dotted keys, e.g. `{"interests.2": ["..."]}`."""
    flat: dict[str, list[str]] = {}
    for key, value in errors.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat_errors(value, f"{name}."))
        elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
            for index, item in enumerate(value):
                if item:
                    flat.update(_flat_errors(item if isinstance(item, dict) else {"": item}, f"{name}.{index}."))
        else:
            flat[name] = [str(message) for message in (value if isinstance(value, list) else [value])]
    return {key.rstrip("."): messages for key, messages in flat.items()}


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def exception_handler(exc, context) -> Response | None:
    """Render every API error as `{"code", "detail"}`, adding per-field `errors` for validation."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # e.g. too many form fields
        exc = exceptions.ParseError("The request could not be read.")
    elif isinstance(exc, CACHE_ERRORS):  # throttles and caches live in Redis: its outage is a 503, never a 500
        logger.error("The shared cache (REDIS_URL) is unreachable: %s", exc)
        exc = CacheUnavailable()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, ApplicationError):
        body = {"code": exc.code, "detail": str(exc.detail)}
        if exc.errors:
            body["errors"] = exc.errors
    elif isinstance(exc, exceptions.ValidationError):
        errors = _flat_errors(exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail})
        body = {"code": "invalid", "detail": _first_message(errors) or "Invalid input.", "errors": errors}
    else:
        detail = exc.detail
        # simplejwt wraps its messages in a dict; keep only the human sentence.
        if isinstance(detail, dict):
            detail = detail.get("detail", _first_message(detail))
        body = {"code": _code_of(exc), "detail": str(detail)}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after"] = int(exc.wait)
        if isinstance(exc, CacheUnavailable):
            response["Retry-After"] = "30"
    response.data = body
    return response


@csrf_exempt  # a POST to an unknown URL is a 404, not a CSRF failure
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Unknown URLs under /api/ answer JSON, never Django's HTML page."""
    return JsonResponse({"code": "not_found", "detail": "No such endpoint."}, status=404)


def bad_request(request: HttpRequest, exception=None, *args, **kwargs) -> JsonResponse:
    """Django's own 400s (a suspicious request refused before any view) answer JSON too."""
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"code": "request_too_large", "detail": RequestTooLarge.default_detail}, status=413)
    return JsonResponse({"code": "bad_request", "detail": "The request could not be read."}, status=400)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The API uses bearer tokens, not cookies; a CSRF refusal can only come from the admin's forms."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "csrf_failed", "detail": "CSRF verification failed."}, status=403)
    return django_csrf_failure(request, reason=reason)


def server_error(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Last resort for an unhandled exception: JSON, no internals."""
    return JsonResponse({"code": "server_error", "detail": "Something went wrong on our side."}, status=500)


class ErrorSerializer(serializers.Serializer):
    """The shape of every error response."""

    code = serializers.CharField(help_text="Stable machine-readable error code.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages, on validation errors.",
    )
    retry_after = serializers.IntegerField(required=False, help_text="Seconds to wait, on 429.")


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error statuses an endpoint can answer."""
    return {code: OpenApiResponse(ErrorSerializer) for code in statuses}


def document_common_errors(result: dict, generator, request, public) -> dict:
    """drf-spectacular hook: every operation that takes a body may answer 413 (too large) and 415 (a content
    type it does not parse), and every throttled one 503 `cache_unavailable` (its counters live in the shared
    cache); say so in the schema, with the common error shape."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    body = {"413": "The request body is too large.", "415": "Unsupported content type."}
    throttled = {"503": "`cache_unavailable`: the shared cache is unreachable; retry after `Retry-After` seconds."}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            extra = body if "requestBody" in operation else {}
            extra |= throttled if "429" in operation["responses"] else {}
            for status_code, description in extra.items():
                operation["responses"].setdefault(status_code, {**error, "description": description})
    return result
