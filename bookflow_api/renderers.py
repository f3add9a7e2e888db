"""The API's JSON renderer: orjson (drf-orjson-renderer) for speed, DRF's ASCII renderer for what orjson refuses.

Clients see the same JSON values as from DRF's JSONRenderer; only the bytes may differ: non-ASCII text comes as
UTF-8 instead of \\u escapes (valid JSON, and smaller), floats in orjson's shortest form (1e16, not 1e+16).
- Any text a client sends can be echoed back in an error body. A lone surrogate ("\\ud800") is not valid UTF-8:
  orjson refuses it (JSONEncodeError), and that body is rendered by DRF's ASCII renderer instead, as \\ud800,
  so the client still gets its 4xx with a JSON body, never a 500. So are integers past 64 bits and non-string
  dict keys (json.dumps turns 1 into "1"), which orjson also refuses.
- Whatever orjson does not serialize itself is converted by DRF's own JSONEncoder.default: lazy translation
  strings, Decimal (a number, as DRF renders a Decimal left in the data; serializer fields have already made
  theirs strings per COERCE_DECIMAL_TO_STRING), timedelta, querysets, bytes, iterables. drf-orjson-renderer's
  default is not used: it renders a Decimal as a string and anything it does not know as null.
- datetime, date and time also go through DRF's code (OPT_PASSTHROUGH_DATETIME): orjson rounds a UTC offset to
  whole minutes (Europe/Amsterdam before 1937: +00:19:32 comes out +00:20), DRF keeps it, ISO 8601 with Z for
  UTC and microseconds as given. Serializer fields hand over datetimes already as strings, so this costs
  nothing on the usual response. Dataclasses pass through too: DRF refuses them, and so do we.
- `Accept: application/json; indent=4` is honoured as by DRF (indented by DRF's renderer).
"""

import orjson
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder


class AsciiJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, ASCII whatever UNICODE_JSON says: any str, even a lone surrogate, renders."""

    ensure_ascii = True


class FastJSONRenderer(ORJSONRenderer):
    """orjson, falling back to AsciiJSONRenderer for what orjson refuses (see the module's docstring)."""

    media_type = "application/json"
    format = "json"
    charset = None
    options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    default = staticmethod(JSONEncoder().default)
    fallback = AsciiJSONRenderer()

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if (accepted_media_type and "indent" in accepted_media_type) or (
            renderer_context and renderer_context.get("indent") is not None
        ):
            return self.fallback.render(data, accepted_media_type, renderer_context)
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except orjson.JSONEncodeError:
            # A lone surrogate, a huge integer, a non-string key, or a type neither orjson nor DRF can render:
            # DRF's renderer answers as before (the last raises its TypeError, as it always did).
            return self.fallback.render(data, accepted_media_type, renderer_context)
