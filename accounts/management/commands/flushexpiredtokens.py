from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts import services

# A day of grace: a session that just ended can still explain a refresh attempt
# ("expired" or "signed out") in the logs and the security page.
GRACE = timedelta(days=1)


class Command(BaseCommand):
    help = "Delete API sessions that expired or were revoked more than a day ago."

    def handle(self, *args, **options):
        count = services.flush_token_sessions(ended_before=timezone.now() - GRACE)
        self.stdout.write(f"Deleted {count} ended session(s).")
