"""The users the demo data is booked by, and the demo logins when asked (development only)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

DEMO_USERS = [
    # username, password, role (None: superuser)
    ("admin", "admin", None),
    ("staff", "staff", "Warehouse staff"),
    ("clerk", "clerk", "Billing clerk"),
]


def users_ensure(*, passwords=False):
    """The users the demo data is booked by; with `passwords`, the demo logins.

    Without `passwords` nobody can log in as them (an unusable password); the
    bench still acts as the superuser. Known passwords need DEBUG besides. A
    user that exists already is left as it is.
    """
    User = get_user_model()
    known = passwords and settings.DEBUG
    users = {}
    for username, password, role in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username)
        if created:
            if known:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.is_superuser = user.is_staff = role is None
            user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))
        users[username] = user
    return users


def users_existing():
    names = [username for username, _, _ in DEMO_USERS]
    return {user.username: user for user in get_user_model().objects.filter(username__in=names)}


def credentials_text(users) -> str:
    """The demo logins that work, to print; empty when none does."""
    lines = []
    for username, password, role in DEMO_USERS:
        if username in users and users[username].check_password(password):
            lines.append(f"  {username} / {password}   ({role or 'superuser'})")
    if not lines:
        return ""
    return "Log in at http://127.0.0.1:8000 with:\n" + "\n".join(lines)
