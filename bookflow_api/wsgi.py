"""WSGI entry point: `gunicorn bookflow_api.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookflow_api.settings")

application = get_wsgi_application()
