from django.apps import AppConfig


class AccountConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "account"

    def ready(self) -> None:
        from account.admin_lockout import hear_admin_sign_ins_only

        hear_admin_sign_ins_only()
