"""Helpers shared by tests across the apps: raw request bodies, admin forms as a browser posts them, and the
variables settings.py reads."""

import re
from pathlib import Path

from django.conf import settings
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.forms import CheckboxInput, ClearableFileInput


class UnreadableBody:
    """A request body (wsgi.input) that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the request body was read")

    readline = read


def post_raw(client, url, body: str, content_type="application/json"):
    """Send `body` as is (the test client cannot encode a lone surrogate; a real client sends \\ud800)."""
    return client.generic("POST", url, body.encode(), content_type=content_type)


def form_fields(form) -> dict:
    """What a browser would post for `form` as rendered: each widget's name(s) and value(s)."""
    data = {}
    for field in form:
        if field.field.disabled:
            continue
        widget = field.field.widget
        while isinstance(widget, RelatedFieldWidgetWrapper):
            widget = widget.widget
        if isinstance(widget, ClearableFileInput):
            continue  # nothing uploaded: the file stays as it is
        context = widget.get_context(field.html_name, field.value(), widget.attrs)["widget"]
        for sub in context.get("subwidgets") or [context]:
            if isinstance(widget, CheckboxInput):
                if sub["attrs"].get("checked"):
                    data[sub["name"]] = "on"
            elif isinstance(sub["value"], list):  # <select>s and the like: the selected options
                data[sub["name"]] = [value for value in sub["value"] if value not in ("", None)]
            elif sub["value"] is not None:
                data[sub["name"]] = sub["value"]
    return data


def page_form_data(response) -> dict:
    """The admin form on the page, inlines (with their management forms) included, as it would be posted."""
    data = form_fields(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data |= form_fields(inline.formset.management_form)
        for form in inline.formset.forms:
            data |= form_fields(form)
    return data


def settings_variables() -> set[str]:
    """Every environment variable settings.py reads (with decouple's `config("NAME", ...)`)."""
    source = (Path(settings.BASE_DIR) / "bookflow_api" / "settings.py").read_text()
    names = set(re.findall(r'config\(\s*"([A-Z0-9_]+)"', source))
    assert {"APP_SECRET_KEY", "DATABASE_URL"} <= names, "settings.py reads its variables some other way now"
    return names
