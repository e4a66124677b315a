"""Demo accounts, one per role (and four readers, so that each sequence group has two).

Roles are per study: the demo seed makes these accounts members of the demo study. The
coordinator is also a study creator (site level) and may use the Django admin (read-only)."""
import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from readerstudy.accounts.roles import STUDY_CREATORS

DEMO_ACCOUNTS = (
    ("reader", "reader"),
    ("reader2", "reader"),
    ("reader3", "reader"),
    ("reader4", "reader"),
    ("coordinator", "coordinator"),
    ("statistician", "statistician"),
)


def demo_password(username: str) -> str:
    """DEMO_PASSWORD_<USERNAME>, else DEMO_PASSWORD, else a fresh random one (printed once)."""
    return os.environ.get(f"DEMO_PASSWORD_{username.upper()}") or os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)


def ensure_demo_accounts(write) -> dict:
    """Create missing demo accounts; existing ones keep their password. Returns username -> user."""
    User = get_user_model()
    users = {}
    for username, role in DEMO_ACCOUNTS:
        user = User.objects.filter(username=username).first()
        if user is None:
            password = demo_password(username)
            user = User.objects.create_user(username=username, password=password)
            shown = password if not os.environ.get("DEMO_PASSWORD") else "(from DEMO_PASSWORD)"
            write(f"  created {role:<12} {username:<13} password: {shown}")
        else:
            write(f"  exists  {role:<12} {username:<13} (password unchanged; `manage.py changepassword {username}` resets it)")
        if role == "coordinator":
            user.groups.add(Group.objects.get_or_create(name=STUDY_CREATORS)[0])
            user.is_staff = True  # the coordinator may also use the Django admin
            user.save(update_fields=["is_staff"])
        users[username] = user
    return users
