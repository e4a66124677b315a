from django.core.management.base import BaseCommand

from readerstudy.demo.accounts import ensure_demo_accounts
from readerstudy.demo.seed import seed_demo


class Command(BaseCommand):
    help = "Create the demo accounts and seed the demo study (idempotent: safe to run again)."

    def handle(self, *args, **options):
        self.stdout.write("Demo accounts:")
        users = ensure_demo_accounts(self.stdout.write)
        seed_demo(users, self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Demo ready."))
