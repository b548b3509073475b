"""The staff admin, one module per concern. Django's admin autodiscovery
imports this package; importing each module registers its ModelAdmin.

- `users`: accounts, through the services and the authority rule;
- `groups`: groups and their permissions (superusers only, audited);
- `tiers`, `audit`: service levels, and the read-only audit trail;
- `tasks`: the email queue, with a retry action for failed emails;
- `site`: the admin site's sign-in and password pages (AccountsConfig.ready).
"""

from accounts.admin import audit, groups, tasks, tiers, users  # noqa: F401
