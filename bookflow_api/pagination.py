"""Page-number pagination shared by every list: `?page=&page_size=`, answered as `{count, page, page_size,
next, previous, results}`. Bad values are a 400, never a silent fallback."""

from dataclasses import dataclass

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_PAGE_SIZE = 40


class PageParamsSerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=20)


@dataclass(frozen=True)
class PageRequest:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_request(request: Request) -> PageRequest:
    params = PageParamsSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    return PageRequest(**params.validated_data)


def page_body(request: Request, *, page: PageRequest, count: int, results: list, **extra) -> dict:
    url = request.build_absolute_uri()
    has_next = page.offset + len(results) < count and len(results) == page.page_size
    previous = None
    if page.page > 1:
        previous = replace_query_param(url, "page", page.page - 1) if page.page > 2 else remove_query_param(url, "page")
    return {
        "count": count,
        "page": page.page,
        "page_size": page.page_size,
        "next": replace_query_param(url, "page", page.page + 1) if has_next else None,
        "previous": previous,
        **extra,
        "results": results,
    }


def page_serializer(name: str, item: serializers.Serializer, **extra_fields) -> serializers.Serializer:
    """A schema component for a page of `item`s."""
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
