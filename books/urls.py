from django.urls import path, re_path

from books import views

VOLUME_ID = r"(?P<volume_id>[A-Za-z0-9_-]{1,40})"

urlpatterns = [
    path("books/search/", views.SearchView.as_view(), name="books-search"),
    path("books/categories/", views.CategoryListView.as_view(), name="books-categories"),
    path("books/categories/<slug:slug>/", views.CategoryBooksView.as_view(), name="books-category"),
    path("books/popular/", views.PopularView.as_view(), name="books-popular"),
    path("books/recommended/", views.RecommendedView.as_view(), name="books-recommended"),
    re_path(r"^books/isbn/(?P<isbn>[^/]{1,32})/$", views.IsbnView.as_view(), name="books-isbn"),
    re_path(rf"^books/{VOLUME_ID}/$", views.BookDetailView.as_view(), name="books-detail"),
    re_path(rf"^books/{VOLUME_ID}/summary/$", views.SummaryRequestView.as_view(), name="books-summary"),
    re_path(r"^summaries/(?P<summary_id>[0-9]{1,18})/$", views.SummaryDetailView.as_view(), name="summary-detail"),
    path("library/", views.LibraryView.as_view(), name="library"),
    re_path(rf"^library/bookmarks/{VOLUME_ID}/$", views.BookmarkView.as_view(), name="library-bookmark"),
    path("library/notes/", views.NoteListView.as_view(), name="library-notes"),
    re_path(r"^library/notes/(?P<note_id>[0-9]{1,18})/$", views.NoteDetailView.as_view(), name="library-note"),
]
