"""Books' admin of summaries: a summary's page previews its content, failed summaries can be retried, and the
list tells those waiting for an admin from those cooling off."""

import pytest
from django.urls import reverse
from django.utils import timezone

from bookflow_api.durable import TaskStatus
from books.models import Summary
from books.tests.factories import BookFactory, seed_book
from fakes.gemini import VALID_CONTENT

pytestmark = pytest.mark.django_db


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


def test_the_admin_lists_the_summaries_waiting_for_an_admin(admin_client):
    stuck = Summary.objects.create(book=seed_book("waiting0001"), status=TaskStatus.FAILED, failed_rounds=3)
    cooling = Summary.objects.create(
        book=seed_book("cooling0001"), status=TaskStatus.FAILED, failed_rounds=1, finished_at=timezone.now()
    )

    waiting_list = admin_client.get("/admin/books/summary/", {"rounds": "waiting"}).content.decode()
    cooling_list = admin_client.get("/admin/books/summary/", {"rounds": "cooling"}).content.decode()

    assert f"/{stuck.pk}/change/" in waiting_list and f"/{cooling.pk}/change/" not in waiting_list
    assert "Only an admin" in waiting_list
    assert f"/{cooling.pk}/change/" in cooling_list and f"/{stuck.pk}/change/" not in cooling_list
