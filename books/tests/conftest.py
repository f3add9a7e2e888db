import json
from pathlib import Path

import pytest
import responses

from fakes import gemini as fake_gemini

DATA = Path(__file__).parent / "data"
BASE = "https://books.test/books/v1"


def payload(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@pytest.fixture(autouse=True)
def google_books_settings(settings):
    settings.GOOGLE_BOOKS_BASE_URL = BASE
    settings.GOOGLE_BOOKS_API_KEY = ""


@pytest.fixture
def upstream():
    """Google Books at the transport: every request must be expected by the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def gemini(settings):
    """The local fake Gemini, with the real google-genai client pointed at it (`server.script`, `server.calls`)."""
    server = fake_gemini.start()
    settings.GOOGLE_API_KEY = "test-gemini-key"
    settings.SUMMARY_PROVIDER = "auto"
    settings.GEMINI_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.GEMINI_TIMEOUT_SECONDS = 1
    yield server
    server.shutdown()
    server.server_close()
