"""Where a request came from, as the plain value the services take.

A leaf module: the doors build it (accounts.http), the services and the logs read
it, and it imports nothing of ours, so none of them import each other through it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    """Where a request came from, for the audit trail and the sessions list."""

    ip: str | None = None
    user_agent: str = ""


NO_CLIENT = Client()
