import pytest
from django.urls import reverse

from account.models import User
from bookflow_api.durable import TaskStatus
from books.models import Summary
from books.tests.factories import BookFactory
from fakes.gemini import VALID_CONTENT

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = User.objects.create_superuser("admin@example.com", "admin-pass-123456")
    client.force_login(admin)
    return client


def test_summary_page_previews_the_content(admin_client):
    summary = Summary.objects.create(book=BookFactory(), status=TaskStatus.READY, content=VALID_CONTENT)

    page = admin_client.get(reverse("admin:books_summary_change", args=[summary.pk])).content.decode()

    assert "Small habits, big results" in page
    assert "Insight 1" in page


def test_retry_action_requeues_failed_summaries(admin_client):
    failed = Summary.objects.create(book=BookFactory(), status=TaskStatus.FAILED, attempts=4, error_code="x")
    ready = Summary.objects.create(book=BookFactory(), status=TaskStatus.READY, content=VALID_CONTENT)

    admin_client.post(
        reverse("admin:books_summary_changelist"), {"action": "retry_failed", "_selected_action": [failed.pk, ready.pk]}
    )

    failed.refresh_from_db()
    ready.refresh_from_db()
    assert (failed.status, failed.attempts) == (TaskStatus.PENDING, 0)
    assert ready.status == TaskStatus.READY
