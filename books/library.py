"""The reader's library: bookmarks and notes. Every query is scoped to its reader."""

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from rest_framework import status

from account.models import User
from bookflow_api.durable import TaskStatus
from bookflow_api.errors import ApplicationError
from books.catalogue import book_detail
from books.models import Book, Bookmark, Note, SummaryUnlock

NOTE_NOT_FOUND = ApplicationError("note_not_found", "No such note.", status_code=status.HTTP_404_NOT_FOUND)


def bookmark_put(*, user: User, volume_id: str) -> tuple[Bookmark, bool]:
    """Bookmark a book (fetched into the catalogue if needed); return (bookmark, created)."""
    book = book_detail(volume_id=volume_id, reader_id=user.pk)
    try:
        with transaction.atomic():
            return Bookmark.objects.get_or_create(user=user, book=book)
    except IntegrityError:
        # A parallel PUT created it first: the end state is the same.
        return Bookmark.objects.get(user=user, book=book), False


def bookmark_delete(*, user: User, volume_id: str) -> None:
    Bookmark.objects.filter(user=user, book_id=volume_id).delete()


def library_books(*, user: User) -> QuerySet[Book]:
    """The reader's bookmarked or unlocked books, newest activity first, with `bookmarked_at`,
    `unlocked_at` and `summary_id` annotated."""
    bookmarks = Bookmark.objects.filter(user=user)
    # As summary_for_reader: a refunded unlock is the reader's only while its summary is not ready.
    held = Q(refunded_at__isnull=True) | ~Q(summary__status=TaskStatus.READY)
    unlocks = SummaryUnlock.objects.filter(held, user=user)
    latest_unlock = unlocks.filter(summary__book=OuterRef("pk")).order_by("-unlocked_at")
    return (
        Book.objects.filter(Q(pk__in=bookmarks.values("book_id")) | Q(pk__in=unlocks.values("summary__book_id")))
        .annotate(
            bookmarked_at=Subquery(bookmarks.filter(book=OuterRef("pk")).values("created_at")[:1]),
            unlocked_at=Subquery(latest_unlock.values("unlocked_at")[:1]),
            summary_id=Subquery(latest_unlock.values("summary_id")[:1]),
        )
        .annotate(activity=Greatest(Coalesce("bookmarked_at", "unlocked_at"), Coalesce("unlocked_at", "bookmarked_at")))
        .order_by("-activity", "volume_id")
    )


def notes_for(*, user: User, volume_id: str | None = None) -> QuerySet[Note]:
    notes = Note.objects.filter(user=user).select_related("book").order_by("-updated_at", "-id")
    return notes.filter(book_id=volume_id) if volume_id else notes


def note_get(*, user: User, note_id: int) -> Note:
    note = notes_for(user=user).filter(pk=note_id).first()
    if note is None:
        raise NOTE_NOT_FOUND
    return note


def note_create(*, user: User, volume_id: str, body: str) -> Note:
    book = book_detail(volume_id=volume_id, reader_id=user.pk)
    return Note.objects.create(user=user, book=book, body=body)


def note_update(*, note: Note, body: str) -> Note:
    note.body = body
    note.save(update_fields=["body", "updated_at"])
    return note


def note_delete(*, note: Note) -> None:
    note.delete()
