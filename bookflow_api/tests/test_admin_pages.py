"""Every admin page answers, for every registered model: changelist, add form, change form, and their saves.

The models come from the admin registry, so a newly registered model is walked through too (it only needs a
row maker in ROWS). Forms are submitted back as a browser would: the values the page rendered, unchanged.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_apscheduler.models import DjangoJob, DjangoJobExecution
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from account.models import EmailTask, OneTimeCode, Subscription, User, WorkerHeartbeat
from account.tests.factories import UserFactory
from bookflow_api.durable import TaskStatus
from bookflow_api.tests.helpers import page_form_data
from books.budgets import budget_day
from books.models import Book, FreeTrial, Summary, SummaryUnlock, UpstreamUsage
from books.tests.factories import BookFactory, BookmarkFactory, NoteFactory
from fakes.gemini import VALID_CONTENT

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)

# Rows that only the app (API, worker, scheduler) may create: an add form would bypass it or save nonsense.
NO_ADD = [
    Subscription,
    Book,
    SummaryUnlock,
    UpstreamUsage,
    DjangoJob,
    DjangoJobExecution,
    BlacklistedToken,
    OutstandingToken,
    AccessAttempt,
    AccessLog,
]


def _summary() -> Summary:
    return Summary.objects.create(book=BookFactory(), status=TaskStatus.READY, content=VALID_CONTENT)


def _job() -> DjangoJob:
    return DjangoJob.objects.create(id="heartbeat", next_run_time=timezone.now(), job_state=b"")


# One typical row per model, as the app would have made it.
ROWS = {
    "auth.Group": lambda: Group.objects.create(name="Editors"),
    "account.User": lambda: UserFactory(interests=["history"]),
    "account.OneTimeCode": lambda: OneTimeCode.objects.create(
        user=UserFactory(), purpose="verify_email", code_hash="f" * 64, expires_at=timezone.now()
    ),
    "account.EmailTask": lambda: EmailTask.objects.create(user=UserFactory(), kind=EmailTask.Kind.VERIFY_EMAIL),
    "account.Subscription": lambda: Subscription.objects.create(
        user=UserFactory(plan="basic"), plan="basic", status="trialing", trial_ends_at=timezone.now()
    ),
    "account.WorkerHeartbeat": lambda: WorkerHeartbeat.objects.create(name="scheduler", last_seen=timezone.now()),
    "books.Book": BookFactory,
    "books.Bookmark": BookmarkFactory,
    "books.Note": NoteFactory,
    "books.Summary": _summary,
    "books.SummaryUnlock": lambda: SummaryUnlock.objects.create(user=UserFactory(), summary=_summary()),
    "books.FreeTrial": lambda: FreeTrial.objects.create(
        email="trial@example.com",
        user=UserFactory(),
        status=TaskStatus.READY,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(days=7),
    ),
    "books.UpstreamUsage": lambda: UpstreamUsage.objects.create(upstream="gemini", day=budget_day(), calls=7),
    "django_apscheduler.DjangoJob": _job,
    "django_apscheduler.DjangoJobExecution": lambda: DjangoJobExecution.objects.create(
        job=_job(), status=DjangoJobExecution.SUCCESS, run_time=timezone.now(), duration=1, finished=1
    ),
    "token_blacklist.OutstandingToken": lambda: OutstandingToken.objects.get(
        jti=RefreshToken.for_user(UserFactory())["jti"]
    ),
    "token_blacklist.BlacklistedToken": lambda: RefreshToken.for_user(UserFactory()).blacklist()[0],
    "axes.AccessAttempt": lambda: AccessAttempt.objects.create(
        username="staff@example.com",
        ip_address="198.51.100.7",
        user_agent="Firefox",
        path_info="/admin/login/",
        failures_since_start=5,
    ),
    "axes.AccessLog": lambda: AccessLog.objects.create(
        username="staff@example.com", ip_address="198.51.100.7", user_agent="Firefox", path_info="/admin/login/"
    ),
}


@pytest.fixture
def superuser():
    return User.objects.create_superuser("admin@example.com", "admin-pass-123456")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_errors(response) -> list:
    errors = [response.context["adminform"].form.errors]
    for inline in response.context["inline_admin_formsets"]:
        errors += [inline.formset.non_form_errors(), *inline.formset.errors]
    return [error for error in errors if error]


def request_by(user, method: str = "get"):
    """A bare request by `user`, to ask a ModelAdmin what it allows."""
    request = getattr(RequestFactory(), method)("/")
    request.user = user
    return request


def make_row(model):
    label = model._meta.label
    if label not in ROWS:
        pytest.fail(f"{label} is in the admin: add a row maker for it to ROWS in {__name__}")
    return ROWS[label]()


def test_every_admin_page_renders(admin_client, user):
    OneTimeCode.objects.create(user=user, purpose="verify_email", code_hash="f" * 64, expires_at="2030-01-01T00:00Z")
    BookmarkFactory(user=user)
    NoteFactory(user=user)
    summary = Summary.objects.create(book=BookFactory(), status=TaskStatus.READY, content=VALID_CONTENT)
    pages = [
        reverse(f"admin:{name}_changelist")
        for name in [
            "account_user",
            "account_onetimecode",
            "books_book",
            "books_bookmark",
            "books_note",
            "books_summary",
            "books_summaryunlock",
            "books_freetrial",
            "account_emailtask",
            "account_workerheartbeat",
            "django_apscheduler_djangojob",
            "django_apscheduler_djangojobexecution",
            "token_blacklist_outstandingtoken",
        ]
    ]
    pages += [
        reverse("admin:account_user_change", args=[user.pk]),
        reverse("admin:books_summary_change", args=[summary.pk]),
    ]

    for page in pages:
        assert admin_client.get(page).status_code == 200, page


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_no_admin_page_answers_500(admin_client, superuser, model):
    model_admin = admin.site._registry[model]

    response = admin_client.get(url(model, "changelist"))
    assert response.status_code == 200

    if model_admin.has_add_permission(request_by(superuser)):
        response = admin_client.get(url(model, "add"))
        assert response.status_code == 200
        response = admin_client.post(url(model, "add"), page_form_data(response))
        assert response.status_code in (200, 302), response.status_code
    else:
        assert admin_client.get(url(model, "add")).status_code == 403

    obj = make_row(model)
    assert admin_client.get(url(model, "changelist")).status_code == 200
    for view in ["history", "delete"]:
        assert admin_client.get(url(model, view, obj.pk)).status_code in (200, 403), view

    response = admin_client.get(url(model, "change", obj.pk))
    assert response.status_code == 200
    response = admin_client.post(url(model, "change", obj.pk), page_form_data(response))
    if model_admin.has_change_permission(request_by(superuser, "post"), obj):
        # Saved: a change form must take back the values it rendered (errors here mean it cannot).
        assert response.status_code == 302, form_errors(response) if response.status_code == 200 else response
    else:
        assert response.status_code == 403, response


@pytest.mark.parametrize("model", NO_ADD, ids=lambda model: model._meta.label)
def test_rows_only_the_app_makes_have_no_add(superuser, model):
    assert not admin.site._registry[model].has_add_permission(request_by(superuser))
