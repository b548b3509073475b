from django.core.management.base import BaseCommand

from accounts import services
from accounts.management.durations import age, cutoff, describe


class Command(BaseCommand):
    help = (
        "Hard-delete accounts soft-deleted longer ago than --older-than "
        "(with their sessions and audit trail). A dry run unless --execute."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=age,
            default=age("30d"),
            help="how long ago the account was deleted: 30d (default), 12h",
        )
        parser.add_argument(
            "--execute", action="store_true", help="delete (default: only count)"
        )

    def handle(self, *args, older_than, execute, **options):
        count = services.purge_deleted_users(
            deleted_before=cutoff(older_than), execute=execute
        )
        if execute:
            self.stdout.write(
                f"Purged {count} account(s) deleted more than "
                f"{describe(older_than)} ago."
            )
        else:
            self.stdout.write(
                f"Dry run: {count} account(s) deleted more than "
                f"{describe(older_than)} ago would be purged. "
                "Run again with --execute to delete them."
            )
