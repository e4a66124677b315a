import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from readerstudy.demo.accounts import DEMO_ACCOUNTS, ensure_demo_accounts
from readerstudy.demo.seed import DemoError, seed_demo
from readerstudy.studies.errors import Conflict


class Command(BaseCommand):
    help = "Create the demo accounts and seed the demo study (idempotent: safe to run again)."

    def handle(self, *args, **options):
        started = time.monotonic()
        self.stdout.write("Demo accounts:")
        users = ensure_demo_accounts(self.stdout.write)
        try:
            study = seed_demo(users, dict(DEMO_ACCOUNTS), self.stdout.write)
        except (DemoError, Conflict, ValidationError) as error:
            message = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            raise CommandError(f"The demo could not be set up: {message} (`make clean-demo` starts over).") from None
        if study is None:
            self.stdout.write(self.style.WARNING("Demo accounts ready; the demo study was left as it was (see above)."))
            return
        self.stdout.write(self.style.SUCCESS(f"Demo ready ({time.monotonic() - started:.0f} s)."))
