from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _forget_auth_state(sender, instance, **kwargs) -> None:
    from account.authentication import auth_state_forget

    auth_state_forget(instance.pk)


class AccountConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "account"

    def ready(self) -> None:
        from account.admin_lockout import hear_admin_sign_ins_only
        from account.emails import email_task_run
        from account.models import EmailTask, User
        from account.serializers import WorkerHealthSerializer
        from account.tasks import worker_status
        from account.worker import account_jobs, jobs_register
        from bookflow_api import durable
        from bookflow_api.health import HealthSection, health_section_register

        hear_admin_sign_ins_only()
        post_save.connect(_forget_auth_state, sender=User, dispatch_uid="account.auth_state.save")
        post_delete.connect(_forget_auth_state, sender=User, dispatch_uid="account.auth_state.delete")
        durable.task_kind_register(EmailTask, email_task_run)
        jobs_register(account_jobs)
        health_section_register(
            "worker",
            HealthSection(
                read=worker_status,  # one query: it reads the heartbeat and proves the database answers
                field=WorkerHealthSerializer(),
                when_unreachable={"last_seen": None, "alive": False},
            ),
        )
