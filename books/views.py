from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from account.categories import BY_SLUG, CATEGORIES
from account.throttles import UserThrottle
from bookflow_api.conditional import (
    CACHE_CONTROL,
    etag_for,
    etag_of,
    not_modified,
    render_json,
    stored_json,
    unchanged,
)
from bookflow_api.errors import ApplicationError
from bookflow_api.errors import error_responses as errors
from bookflow_api.pagination import BookFlowPagination
from books import catalogue, library, summaries
from books.serializers import (
    LIBRARY_COLUMNS,
    BookDetailSerializer,
    BookmarkSerializer,
    BookSerializer,
    CategorySerializer,
    LibraryItemSerializer,
    NoteCreateSerializer,
    NoteFilterSerializer,
    NoteSerializer,
    NoteUpdateSerializer,
    SearchParamsSerializer,
    SummarySerializer,
    book_as_dict,
    library_item_as_dict,
)

PAGE_PARAMS = [
    OpenApiParameter("page", int, description="1-based page number (default 1)."),
    OpenApiParameter("page_size", int, description="Items per page, 1 to 40 (default 20)."),
]
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The `ETag` of the answer you have: 304 Not Modified (no body) while it is still current.",
)
NOT_MODIFIED = OpenApiResponse(description="Not modified: the answer you have (its `ETag`) is still current.")
SOURCE = serializers.ChoiceField(choices=["google_books", "local"])
BOOK_PAGE = BookFlowPagination.response_serializer("BookPage", BookSerializer(many=True), source=SOURCE)


class CatalogueThrottle(UserThrottle):
    """Each reader's share of the Google Books quota."""

    scope = "catalogue_user"


def book_page_response(request, paginator: BookFlowPagination, result: catalogue.BookPage) -> Response:
    """The catalogue fetched just the page asked for (from Google Books or our copy): answer it as that page."""
    books = paginator.paginate_fetched(result.books, count=result.count, request=request)
    return paginator.get_paginated_response([book_as_dict(book) for book in books], source=result.source)


class SearchView(APIView):
    throttle_classes = [CatalogueThrottle]

    @extend_schema(
        parameters=[SearchParamsSerializer, *PAGE_PARAMS],
        responses={200: BOOK_PAGE, **errors(400, 401, 429)},
        tags=["books"],
    )
    def get(self, request):
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        paginator = BookFlowPagination()
        page, page_size = paginator.requested_page(request)
        result = catalogue.book_search(
            query=params.validated_data["q"].strip(),
            page=page,
            page_size=page_size,
            reader_id=request.user.pk,
            lang=params.validated_data["lang"],
            order_by=params.validated_data["order_by"],
        )
        return book_page_response(request, paginator, result)


class CategoryListView(APIView):
    @extend_schema(responses={200: CategorySerializer(many=True), **errors(401)}, tags=["books"])
    def get(self, request):
        return Response(CategorySerializer(CATEGORIES, many=True).data)


class CategoryBooksView(APIView):
    throttle_classes = [CatalogueThrottle]

    @extend_schema(parameters=PAGE_PARAMS, responses={200: BOOK_PAGE, **errors(400, 401, 404, 429)}, tags=["books"])
    def get(self, request, slug: str):
        category = BY_SLUG.get(slug)
        if category is None:
            raise ApplicationError("category_not_found", "No such category.", status_code=status.HTTP_404_NOT_FOUND)
        paginator = BookFlowPagination()
        page, page_size = paginator.requested_page(request)
        result = catalogue.books_in_category(
            category=category, page=page, page_size=page_size, reader_id=request.user.pk
        )
        return book_page_response(request, paginator, result)


class PopularView(APIView):
    @extend_schema(parameters=PAGE_PARAMS, responses={200: BOOK_PAGE, **errors(400, 401)}, tags=["books"])
    def get(self, request):
        paginator = BookFlowPagination()
        page, page_size = paginator.requested_page(request)
        return book_page_response(request, paginator, catalogue.books_popular(page=page, page_size=page_size))


class RecommendedView(APIView):
    throttle_classes = [CatalogueThrottle]

    @extend_schema(parameters=PAGE_PARAMS, responses={200: BOOK_PAGE, **errors(400, 401, 429)}, tags=["books"])
    def get(self, request):
        paginator = BookFlowPagination()
        page, page_size = paginator.requested_page(request)
        result = catalogue.books_recommended(
            interests=request.user.interests, page=page, page_size=page_size, reader_id=request.user.pk
        )
        return book_page_response(request, paginator, result)


def book_detail_response(request, book):
    book.bookmarked = book.bookmarks.filter(user=request.user).exists()
    book.summary = summaries.summary_of_book_for_reader(user=request.user, volume_id=book.volume_id)
    summary_state = (book.summary.pk, book.summary.status) if book.summary else None
    # Everything the answer shows, named without rendering it: the book's version, this reader's bookmark, summary.
    etag = etag_of(book.volume_id, book.fetched_at.isoformat(), book.bookmarked, summary_state)
    if unchanged(request, etag):
        return not_modified(etag)
    response = Response(BookDetailSerializer(book).data, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
    return response


class IsbnView(APIView):
    throttle_classes = [CatalogueThrottle]

    @extend_schema(
        parameters=[IF_NONE_MATCH],
        responses={200: BookDetailSerializer, 304: NOT_MODIFIED, **errors(400, 401, 404, 429, 503)},
        tags=["books"],
    )
    def get(self, request, isbn: str):
        return book_detail_response(request, catalogue.book_by_isbn(isbn=isbn, reader_id=request.user.pk))


class BookDetailView(APIView):
    throttle_classes = [CatalogueThrottle]

    @extend_schema(
        parameters=[IF_NONE_MATCH],
        responses={200: BookDetailSerializer, 304: NOT_MODIFIED, **errors(401, 404, 429, 503)},
        tags=["books"],
    )
    def get(self, request, volume_id: str):
        return book_detail_response(request, catalogue.book_detail(volume_id=volume_id, reader_id=request.user.pk))


class LibraryView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses={
            200: BookFlowPagination.response_serializer("LibraryPage", LibraryItemSerializer(many=True)),
            **errors(400, 401),
        },
        tags=["library"],
    )
    def get(self, request):
        paginator = BookFlowPagination()
        rows = library.library_books(user=request.user).values(*LIBRARY_COLUMNS)
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response([library_item_as_dict(row) for row in page])


class BookmarkView(APIView):
    throttle_classes = [CatalogueThrottle]

    @extend_schema(
        request=None,
        responses={200: BookmarkSerializer, 201: BookmarkSerializer, **errors(401, 404, 429, 503)},
        tags=["library"],
    )
    def put(self, request, volume_id: str):
        bookmark, created = library.bookmark_put(user=request.user, volume_id=volume_id)
        return Response(BookmarkSerializer(bookmark).data, status=201 if created else 200)

    @extend_schema(responses={204: None, **errors(401, 404, 429)}, tags=["library"])
    def delete(self, request, volume_id: str):
        library.bookmark_delete(user=request.user, volume_id=volume_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NoteListView(APIView):
    def get_throttles(self):
        return [CatalogueThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        parameters=[NoteFilterSerializer, *PAGE_PARAMS],
        responses={
            200: BookFlowPagination.response_serializer("NotePage", NoteSerializer(many=True)),
            **errors(400, 401),
        },
        tags=["library"],
        operation_id="library_notes_list",
    )
    def get(self, request):
        filters = NoteFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = BookFlowPagination()
        notes = library.notes_for(user=request.user, volume_id=filters.validated_data.get("book"))
        notes = paginator.paginate_queryset(notes, request, view=self)
        return paginator.get_paginated_response(NoteSerializer(notes, many=True).data)

    @extend_schema(
        request=NoteCreateSerializer,
        responses={201: NoteSerializer, **errors(400, 401, 404, 429, 503)},
        tags=["library"],
    )
    def post(self, request):
        serializer = NoteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = library.note_create(
            user=request.user, volume_id=serializer.validated_data["book"], body=serializer.validated_data["body"]
        )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class NoteDetailView(APIView):
    @extend_schema(responses={200: NoteSerializer, **errors(401, 404)}, tags=["library"])
    def get(self, request, note_id: int):
        return Response(NoteSerializer(library.note_get(user=request.user, note_id=note_id)).data)

    @extend_schema(
        request=NoteUpdateSerializer, responses={200: NoteSerializer, **errors(400, 401, 404)}, tags=["library"]
    )
    def patch(self, request, note_id: int):
        note = library.note_get(user=request.user, note_id=note_id)
        serializer = NoteUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(NoteSerializer(library.note_update(note=note, body=serializer.validated_data["body"])).data)

    @extend_schema(responses={204: None, **errors(401, 404)}, tags=["library"])
    def delete(self, request, note_id: int):
        library.note_delete(note=library.note_get(user=request.user, note_id=note_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SummaryRequestView(APIView):
    throttle_classes = [CatalogueThrottle]

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(
                SummarySerializer,
                description="Ready; or failed and cooling off (`error`, `retry_at`): no quota taken, nothing started.",
            ),
            202: OpenApiResponse(SummarySerializer, description="Being written; poll the `Location` URL."),
            **errors(401, 403, 404, 429, 503),
        },
        tags=["summaries"],
    )
    def post(self, request, volume_id: str):
        summary = summaries.summary_request(user=request.user, volume_id=volume_id)
        body = SummarySerializer(summary).data
        if summary.status in ("ready", "failed"):
            return Response(body)
        location = reverse("summary-detail", kwargs={"summary_id": summary.pk})
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class SummaryDetailView(APIView):
    @extend_schema(
        parameters=[IF_NONE_MATCH],
        responses={200: SummarySerializer, 304: NOT_MODIFIED, **errors(401, 404)},
        tags=["summaries"],
    )
    def get(self, request, summary_id: int):
        # A ready summary's answer is stored once rendered: the access check and its ETag in one query, then 304
        # or the stored bytes, with no content loaded or rendered.
        status_now, etag = summaries.summary_state_for_reader(user=request.user, summary_id=summary_id)
        if status_now == "ready" and etag:
            if unchanged(request, etag):
                return not_modified(etag)
            body = summaries.summary_rendered(summary_id=summary_id)
            if body is not None:
                return stored_json(body, etag)
        summary = summaries.summary_for_reader(user=request.user, summary_id=summary_id)
        data = SummarySerializer(summary).data
        if summary.status != "ready":
            return Response(data)
        body = render_json(data)
        etag = etag_for(body)
        summaries.summary_keep_rendered(summary=summary, body=body, etag=etag)
        return stored_json(body, etag)
