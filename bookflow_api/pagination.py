"""Page-number pagination shared by every list: DRF's, answering `?page=&page_size=` with `{count, page,
page_size, next, previous, results}`. Bad values are a 400, never a silent fallback."""

from django.core.paginator import Page, Paginator
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 40
MAX_PAGE = 1000


class PageParamsSerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE)


class _Page(Page):
    def has_next(self) -> bool:
        # A page shorter than asked for is the last, whatever count an upstream gave.
        return len(self) == self.paginator.per_page and super().has_next()


class _Paginator(Paginator):
    """Django's paginator, except that a page past the end is an empty page rather than an error."""

    def validate_number(self, number: int) -> int:
        return number  # already checked with the query string: a whole number from 1 to MAX_PAGE

    def _get_page(self, *args, **kwargs) -> Page:
        return _Page(*args, **kwargs)


class _FetchedPaginator(_Paginator):
    """A page an upstream already cut, and the count it gave for the whole list."""

    def __init__(self, results: list, *, count: int, per_page: int) -> None:
        super().__init__(results, per_page)
        self.count = count

    def page(self, number: int) -> Page:
        return self._get_page(self.object_list, number, self)


class BookFlowPagination(PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    django_paginator_class = _Paginator

    def requested_page(self, request: Request) -> tuple[int, int]:
        """The `page` and `page_size` asked for; a 400 naming the parameter that is not a whole number in range."""
        params = PageParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return params.validated_data["page"], params.validated_data["page_size"]

    def get_page_number(self, request: Request, paginator: Paginator) -> int:
        return self.requested_page(request)[0]

    def get_page_size(self, request: Request) -> int:
        return self.requested_page(request)[1]

    def paginate_fetched(self, results: list, *, count: int, request: Request) -> list:
        """The page an upstream answered (its `results` are the whole page), out of its `count`."""
        self.request = request
        page, page_size = self.requested_page(request)
        self.page = _FetchedPaginator(results, count=count, per_page=page_size).page(page)
        return list(self.page)

    def get_paginated_response(self, data: list, **extra) -> Response:
        """The page's body, with `extra` fields (e.g. the catalogue's `source`) before its `results`."""
        return Response(
            {
                "count": self.page.paginator.count,
                "page": self.page.number,
                "page_size": self.page.paginator.per_page,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                **extra,
                "results": data,
            }
        )

    @staticmethod
    def response_serializer(name: str, item: serializers.Serializer, **extra_fields) -> serializers.Serializer:
        """The schema component `name` for a page of `item`s, as get_paginated_response answers it."""
        fields = {
            "count": serializers.IntegerField(),
            "page": serializers.IntegerField(),
            "page_size": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            **extra_fields,
            "results": item,
        }
        return inline_serializer(name, fields)
