"""Readers asking at the same moment (on PostgreSQL): many readers, one new book: one Summary, one generation;
one reader, many books: one quota, unlocks one at a time."""

import threading

import pytest
from django.db import OperationalError, connection, transaction
from rest_framework.test import APIClient

from account.tests.factories import UserFactory
from books.models import Summary, SummaryUnlock
from books.summaries import summary_request
from books.tests.factories import BookFactory, seed_book

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


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite has no row locks")
def test_a_readers_second_unlock_waits_while_their_first_is_in_progress(offline, tasks):
    reader = UserFactory()
    seed_book("first000001"), seed_book("second00001")
    outcome = []

    def second_unlock():
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        client = APIClient()
        client.force_authenticate(reader)
        try:
            outcome.append(client.post("/api/v1/books/second00001/summary/").status_code)
        except OperationalError:
            outcome.append("waited")
        connection.close()

    with transaction.atomic():
        summary_request(user=reader, volume_id="first000001")  # not committed yet
        thread = threading.Thread(target=second_unlock)
        thread.start()
        thread.join()

    assert outcome == ["waited"]
    assert SummaryUnlock.objects.filter(user=reader).count() == 1
