from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts import services

# A day of grace: a session that just ended can still explain a refresh attempt
# ("expired" or "signed out") in the logs and the security page.
GRACE = timedelta(days=1)


class Command(BaseCommand):
    help = (
        "Delete API sessions that ended more than a day ago and expired rate "
        "counters; report and delete unfinished two-factor sign-ins."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        count = services.flush_token_sessions(ended_before=now - GRACE)
        counters = services.flush_rate_counters(now=now)
        abandoned = services.report_abandoned_sign_ins()
        self.stdout.write(
            f"Deleted {count} ended session(s) and {counters} expired rate counter(s);"
            f" reported {abandoned} unfinished two-factor sign-in(s)."
        )
