import factory
from django.utils import timezone

from account.tests.factories import UserFactory
from books.models import Book, Bookmark, Note


class BookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Book

    volume_id = factory.Sequence(lambda n: f"vol{n:09d}")
    title = factory.Sequence(lambda n: f"Book number {n}")
    authors = factory.LazyFunction(lambda: ["Jane Author"])
    description = "A book about books."
    categories = factory.LazyFunction(lambda: ["Business & Economics"])
    language = "en"
    source = Book.Source.GOOGLE_BOOKS
    fetched_at = factory.LazyFunction(timezone.now)


class BookmarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bookmark

    user = factory.SubFactory(UserFactory)
    book = factory.SubFactory(BookFactory)


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    user = factory.SubFactory(UserFactory)
    book = factory.SubFactory(BookFactory)
    body = "Remember chapter 3."


def seed_book(volume_id: str):
    """A book of the seed catalogue: never refetched from Google Books, however far the clock moves."""
    return BookFactory(volume_id=volume_id, source=Book.Source.SEED)
