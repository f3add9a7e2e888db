import json
from pathlib import Path

import pytest
import responses

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
