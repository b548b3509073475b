from django.core.management.base import BaseCommand

from accounts import services
from accounts.management.durations import age, cutoff, describe


class Command(BaseCommand):
    help = (
        "Delete audit events (sign-ins, password changes, ...) older than "
        "--older-than. A dry run unless --execute."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=age,
            default=age("365d"),
            help="age of the events to delete: 365d (default), 90d, 12h",
        )
        parser.add_argument(
            "--execute", action="store_true", help="delete (default: only count)"
        )

    def handle(self, *args, older_than, execute, **options):
        count = services.prune_auth_events(
            created_before=cutoff(older_than), execute=execute
        )
        if execute:
            self.stdout.write(
                f"Deleted {count} audit event(s) older than {describe(older_than)}."
            )
        else:
            self.stdout.write(
                f"Dry run: {count} audit event(s) older than "
                f"{describe(older_than)} would be deleted. "
                "Run again with --execute to delete them."
            )
