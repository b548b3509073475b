"""Django's PostgreSQL backend, plus:

- **The health check without a round trip.** With CONN_HEALTH_CHECKS Django
  sends `SELECT 1` before the first query of every request; on `/users/me`,
  whose real work is one primary-key lookup, that ping was a second round trip
  and about a fifth of the request's CPU (Python and PostgreSQL together). A
  connection the server has ended (restart, `pg_terminate_backend`, a pooler's
  or firewall's idle timeout) shows it on the socket before any query is sent:
  the server writes its farewell or closes, and the socket turns readable. An
  idle connection between two requests has nothing to say. So a connection
  psycopg still knows as open and idle, whose socket has nothing to read,
  counts as checked; anything else gets Django's own `SELECT 1` (and is
  replaced when that fails), as before. What neither check sees is a server
  gone without a word (a network partition): the ping would hang there too.
- **prepared_cursor()**: a cursor whose parameters the server binds, which
  psycopg prepares once per connection when prepared statements are allowed
  (`prepare_threshold` set: DB_PREPARED_STATEMENTS). Only the per-request
  lookups use it (accounts.compiled_lookup); every other query keeps Django's
  client-side binding, which psycopg never prepares.
"""

import select

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format, TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and _quiet(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def prepared_cursor(self):
        """A cursor for the statements worth preparing, or the ordinary one
        when this connection prepares nothing."""
        # Logged queries (DEBUG, a test counting them) go the ordinary way:
        # psycopg keeps no text of a server-bound statement to log.
        if self.queries_logged:
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        if self.connection.prepare_threshold is None:
            return self.cursor()
        self.validate_thread_sharing()
        with self.wrap_database_errors:
            cursor = base.ServerBindingCursor(self.connection)
            # As create_cursor: timestamps read in the connection's zone.
            loader = self.connection.adapters.get_loader(
                base.TIMESTAMPTZ_OID, Format.TEXT
            )
            if self.timezone != loader.timezone:
                register_tzloader(self.timezone, cursor)
        return self.make_cursor(cursor)


def _quiet(raw) -> bool:
    if raw.closed or raw.broken:
        return False
    if raw.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False
