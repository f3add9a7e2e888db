"""Subscriptions: the plan a reader is on and why. Books' trial service starts, extends and ends trials here."""

from datetime import datetime

from account.models import Plan, Subscription, User
from account.quotas import quotas_of


def subscription_trial_start(*, user: User, plan: str, starts_at: datetime, ends_at: datetime) -> bool:
    """Put a reader on `free` on the trial's plan. A reader already on a paid plan (an admin set it) is left
    alone: a trial would only downgrade them. False then."""
    if not User.objects.filter(pk=user.pk, plan=Plan.FREE).update(plan=plan):
        return False
    user.plan = plan
    Subscription.objects.update_or_create(
        user=user,
        defaults={
            "plan": plan,
            "status": Subscription.Status.TRIALING,
            "trial_started_at": starts_at,
            "trial_ends_at": ends_at,
        },
    )
    return True


def subscription_trial_extend(*, user_id: int, ends_at: datetime) -> None:
    Subscription.objects.filter(user_id=user_id, status=Subscription.Status.TRIALING).update(trial_ends_at=ends_at)


def subscription_trial_end(*, user_id: int, plan: str) -> bool:
    """The trial is over: back to `free`, unless an admin changed the plan meanwhile (it is the reader's own and
    stays). True when the reader went back to `free`."""
    Subscription.objects.filter(user_id=user_id, status=Subscription.Status.TRIALING).update(
        status=Subscription.Status.EXPIRED
    )
    return bool(User.objects.filter(pk=user_id, plan=plan).update(plan=Plan.FREE))


def subscription_of(user: User) -> dict:
    """`trialing` while the free trial runs, `active` on a plan of one's own, `expired` back on free after the
    trial, `none` before any."""
    subscription = Subscription.objects.filter(user=user).first()
    # Trialing until the worker's hourly `expire_trials` ends it (the reader keeps the plan until then).
    if subscription and subscription.status == Subscription.Status.TRIALING and user.plan == subscription.plan:
        status = "trialing"
    elif user.plan != Plan.FREE:
        status = "active"
    elif subscription and subscription.status == Subscription.Status.EXPIRED:
        status = "expired"
    else:
        status = "none"
    return {
        "plan": user.plan,
        "status": status,
        "trial_ends_at": subscription.trial_ends_at if status in ("trialing", "expired") else None,
        "quotas": quotas_of(user),
    }
