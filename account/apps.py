from django.apps import AppConfig


class AccountConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "account"

    def ready(self) -> None:
        from account.admin_lockout import hear_admin_sign_ins_only
        from account.emails import email_task_run
        from account.models import EmailTask
        from bookflow_api import durable

        hear_admin_sign_ins_only()
        durable.task_kind_register(EmailTask, email_task_run)
