"""How a request uses its persistent database connection (issue 18): the
per-request lookups prepared once per connection on PostgreSQL, and the
health check done by looking at the socket, with Django's `SELECT 1` still
run, and the connection replaced, once the server has ended it."""

import select

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from accounts.compiled_lookup import load_user
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import get_me, sign_in


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_user_lookup_of_a_bearer_request_is_prepared_once(client):
    user = UserFactory()
    tokens = sign_in(user)

    for _ in range(3):
        assert get_me(client, tokens["access_token"]).status_code == 200

    if connection.vendor == "postgresql":
        lookups = [s for s in _prepared_statements() if '"accounts_user"' in s]
        assert len(lookups) == 1
        assert '"accounts_user"."id" = $1' in lookups[0]
    else:
        # Nothing to prepare: the lookup is SQLite's ordinary query.
        assert connection.vendor == "sqlite"
        assert load_user(user.pk) == user


@pytest.mark.django_db
def test_a_prepared_lookup_reads_what_the_logged_one_reads():
    user = UserFactory(first_name="Grace")
    prepared = load_user(user.pk)

    with CaptureQueriesContext(connection) as queries:  # the ordinary way
        logged = load_user(user.pk)

    assert len(queries) == 1 and str(user.pk.hex) in queries[0]["sql"].replace("-", "")
    fields = [f.attname for f in type(user)._meta.concrete_fields]
    assert [getattr(prepared, f) for f in fields] == [
        getattr(logged, f) for f in fields
    ]
    assert prepared.date_joined.tzinfo is not None


def _start_request():
    # What the WSGI handler does first (the test client leaves out Django's
    # close_old_connections, which asks for the health check), then the first
    # query's cursor.
    close_old_connections()
    connection.close_if_health_check_failed()


def _end_this_connection_from_elsewhere() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    url = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in url.items() if k in ("dbname", "user", "host", "port")},
        password=url.get("password"),
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server says goodbye on the socket; wait until it has arrived.
    select.select([connection.connection.fileno()], [], [], 10)


@pytest.mark.django_db(transaction=True)
def test_a_quiet_connection_is_trusted_and_an_ended_one_replaced(client, monkeypatch):
    user = UserFactory()
    tokens = sign_in(user)
    load_user(user.pk)  # the connection is open and idle
    pings = []
    real_ping = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: pings.append(1) or real_ping())

    _start_request()

    if connection.vendor != "postgresql":
        # The shortcut is PostgreSQL's; SQLite has no health check to spare.
        assert not connection.health_check_enabled
        return
    assert connection.health_check_done and pings == []  # no SELECT 1
    opened = connection.connection

    _end_this_connection_from_elsewhere()
    _start_request()

    assert pings == [1]  # Django's own check ran, failed, and closed it
    assert connection.connection is None
    assert load_user(user.pk) == user
    assert connection.connection is not opened
    assert get_me(client, tokens["access_token"]).status_code == 200
