"""Many readers asking for one new book at the same moment: one Summary, one generation."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from account.tests.factories import UserFactory
from books.models import Summary, SummaryUnlock
from books.tests.factories import BookFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every writer, so there is no race to test")


def test_parallel_requests_for_one_book_create_one_summary_and_one_generation(tasks, settings):
    settings.GOOGLE_API_KEY = ""
    book = BookFactory(volume_id="racebook001")
    readers = UserFactory.create_batch(8)
    start = threading.Barrier(len(readers))
    statuses = []

    def ask(reader):
        client = APIClient()
        client.force_authenticate(reader)
        start.wait()
        statuses.append(client.post(f"/api/v1/books/{book.volume_id}/summary/").status_code)
        connection.close()

    threads = [threading.Thread(target=ask, args=(reader,)) for reader in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timers = len(tasks.pending)
    tasks.run_all()

    assert statuses == [202] * len(readers)
    assert Summary.objects.count() == 1
    assert SummaryUnlock.objects.count() == len(readers)
    assert timers == 1
    assert Summary.objects.get().attempts == 1


def test_parallel_unlocks_cannot_exceed_the_quota(tasks):
    reader = UserFactory()
    books = [BookFactory() for _ in range(6)]
    start = threading.Barrier(len(books))
    statuses = []

    def ask(book):
        client = APIClient()
        client.force_authenticate(reader)
        start.wait()
        statuses.append(client.post(f"/api/v1/books/{book.volume_id}/summary/").status_code)
        connection.close()

    threads = [threading.Thread(target=ask, args=(book,)) for book in books]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [202] + [403] * 5
    assert SummaryUnlock.objects.filter(user=reader).count() == 1
