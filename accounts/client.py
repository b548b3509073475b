"""Where a request came from, as the plain value the services take.

A leaf module: the doors build it (accounts.http), the services and the logs read
it, and it imports nothing of ours, so none of them import each other through it.
"""

from dataclasses import dataclass

# The audit trail and the sessions list keep this much of a user agent (the
# models' column length).
USER_AGENT_MAX_LENGTH = 400


@dataclass(frozen=True)
class Client:
    """Where a request came from, for the audit trail and the sessions list."""

    ip: str | None = None
    user_agent: str = ""
    # Which door the request came through: "api", "web" (the pages) or "admin";
    # empty for the worker and commands. The audit trail keeps it, so the owner
    # can tell an app's sign-in from a browser's.
    door: str = ""

    def __post_init__(self):
        # Cut once here, whoever builds the value (a door, the worker, a
        # command): a client-chosen header must fit the columns it is stored in.
        object.__setattr__(self, "user_agent", self.user_agent[:USER_AGENT_MAX_LENGTH])


NO_CLIENT = Client()
