from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from readerstudy import audit


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    audit.record(user, "login", request=request)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(user, "logout", request=request)


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    audit.record(None, "login_failed", request=request, username=credentials.get("username", ""))
