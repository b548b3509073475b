"""Re-encrypt every TOTP secret under the newest MFA_ENCRYPTION_KEYS key.

Rotating a key: put the new key first in MFA_ENCRYPTION_KEYS (keep the old one
after it), restart, run this command, then remove the old key.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts import encryption, services


class Command(BaseCommand):
    help = "Re-encrypt every TOTP secret under the newest MFA_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        try:
            rotated = services.rotate_mfa_secrets()
        except encryption.InvalidToken:
            raise CommandError(
                "MFA_ENCRYPTION_KEYS: a stored secret opens with none of the "
                "configured keys; put back the key that encrypted it and run "
                "this command again."
            ) from None
        self.stdout.write(f"Re-encrypted {rotated} secret(s) under the newest key.")
