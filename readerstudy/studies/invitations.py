"""Reader accounts: a coordinator creates one and hands the reader a one-time link to set a password.

The link carries Django's password-reset token, which stops working once the password is set
(the token hashes the password) or after PASSWORD_RESET_TIMEOUT; no e-mail server is needed:
the coordinator sees the link and passes it on.
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from readerstudy import audit
from readerstudy.studies.errors import Conflict


def accounts():
    """The accounts study creators manage: everyone but site administrators."""
    return get_user_model().objects.filter(is_superuser=False).order_by("username")


def set_password_path(user) -> str:
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("studies:set-password", kwargs={"uidb64": uidb64, "token": default_token_generator.make_token(user)})


def invite_link(user, request=None) -> str:
    path = set_password_path(user)
    return request.build_absolute_uri(path) if request is not None else path


def create_reader(by, *, username: str, email: str = "", first_name: str = "", last_name: str = "", request=None):
    """(reader, link): a new account with no usable password yet; roles come with study memberships."""
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "A username is required."})
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, first_name=first_name, last_name=last_name)
            user.set_unusable_password()
            user.save(update_fields=["password"])
            audit.record(by, "reader.created", user, request=request, username=username)
    except IntegrityError:
        raise ValidationError({"username": "This username is taken."}) from None
    return user, invite_link(user, request)


def reissue_link(reader, by, *, request=None) -> str:
    """A fresh link for a reader who lost theirs, only until a password is set.

    Refused afterwards: a coordinator who could reset a reader's password could read as that reader.
    """
    if reader.is_superuser:
        raise ValidationError("Links are not issued for site administrators.")
    if reader.has_usable_password():
        raise Conflict("This reader has already set a password.")
    audit.record(by, "reader.invited", reader, request=request, username=reader.get_username())
    return invite_link(reader, request)
