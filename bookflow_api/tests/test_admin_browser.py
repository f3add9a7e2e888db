"""The admin and the API docs in a real browser (Debian's Chromium driven by Playwright).

Catches what the test client cannot: broken static files, JavaScript errors, failing asset requests.
"""

from pathlib import Path

import pytest
from django.middleware.security import SecurityMiddleware
from django.utils import timezone
from django_apscheduler.models import DjangoJob

from account.models import User
from account.tasks import heartbeat
from books.models import Summary
from books.tests.factories import BookFactory

pytest.importorskip("playwright.sync_api", reason="needs the playwright package (pip install playwright)")
from playwright.sync_api import sync_playwright  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (make install-browser)"
    ),
    pytest.mark.django_db(transaction=True),
]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones Google at start-up, and logs the refused connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "some-long-pass-123456"


@pytest.fixture
def plain_http_live_server(live_server, monkeypatch):
    """The live server without its redirect to HTTPS.

    conftest's SECURE_SSL_REDIRECT=False comes too late for it: the session-wide server builds its
    SecurityMiddleware, which reads the setting once, before any test's settings are changed.
    """
    monkeypatch.setattr(SecurityMiddleware, "process_request", lambda self, request: None)
    return live_server


@pytest.fixture
def browser_page(plain_http_live_server):
    """A fresh Chromium page, and the list of problems (console errors, page errors, 5xx) seen on it.

    Request the data fixtures before this one: the ORM refuses to run once Playwright's event loop has started.
    """
    live_server = plain_http_live_server
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=live_server.url)

        def on_console(msg):
            # Chromium asks every site for /favicon.ico; the admin has none, and that 404 is no fault of a page.
            if msg.type == "error" and not msg.location["url"].endswith("/favicon.ico"):
                problems.append(f"console: {msg.text} ({msg.location['url']})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("response", lambda resp: resp.status >= 500 and problems.append(f"{resp.status} {resp.url}"))
        yield page, problems
        browser.close()


@pytest.fixture
def admin_data(transactional_db):
    User.objects.create_superuser(ADMIN_EMAIL, ADMIN_PASSWORD)
    Summary.objects.create(book=BookFactory())
    DjangoJob.objects.create(id="heartbeat", next_run_time=timezone.now(), job_state=b"")
    heartbeat()


def open_page(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status < 400, f"{path}: {response and response.status}"


def test_an_admin_logs_in_and_every_changelist_renders_without_errors(admin_data, browser_page):
    page, problems = browser_page

    open_page(page, "/admin/login/")
    page.fill("#id_username", ADMIN_EMAIL)
    page.fill("#id_password", ADMIN_PASSWORD)
    with page.expect_navigation() as login:
        page.click("input[type=submit]")
    assert login.value.status < 400
    assert page.url.endswith("/admin/"), "the login failed"

    for path, row_text in [
        ("/admin/account/user/", ADMIN_EMAIL),
        ("/admin/books/summary/", "Book number"),
        ("/admin/django_apscheduler/djangojob/", "heartbeat"),
        ("/admin/account/workerheartbeat/", "scheduler"),
    ]:
        open_page(page, path)
        page.locator("#result_list tbody tr", has_text=row_text).first.wait_for()

    assert problems == []


def test_the_api_docs_render_their_operations_without_errors(browser_page):
    page, problems = browser_page

    open_page(page, "/api/docs/")
    page.locator(".opblock").first.wait_for()

    assert problems == []
