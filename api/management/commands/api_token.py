"""`manage.py api_token USER [--name NAME]`: a new API token; its secret is printed once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.tokens import api_token_create


class Command(BaseCommand):
    help = "Make an API token for USER and print its secret (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is named {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username!r} is inactive: its token would be refused.")
        token, secret = api_token_create(user=user, name=name)
        self.stderr.write(f"Token {token.name!r} for {username} ({token.prefix}…), shown once:")
        self.stdout.write(secret)
