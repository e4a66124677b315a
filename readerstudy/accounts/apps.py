from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "readerstudy.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        # Bind shared tasks to our Celery app and audit logins.
        from readerstudy import celery  # noqa: F401
        from readerstudy.accounts import signals  # noqa: F401
