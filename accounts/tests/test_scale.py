"""A million accounts: the hot queries must stay index lookups.

Run on PostgreSQL only (`-m scale`); the plans are printed with `-s`:
    DATABASE_URL=postgres://... pytest -m scale accounts/tests/test_scale.py -s
"""

import time

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import selectors
from accounts.models import User
from accounts.tests.factories import UserFactory

ACCOUNTS = 1_000_000

pytestmark = [
    pytest.mark.scale,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: the plans under test (trigram indexes, "
        "reltuples estimates) exist only there",
    ),
]

# One hash for every account: a million Argon2 hashes would take hours, and the
# plans do not depend on the hash. Rare states are sprinkled in so that the
# partial indexes (deleted, inactive, staff) meet realistic selectivities.
INSERT = """
INSERT INTO accounts_user (
    id, password, last_login, is_superuser, username, email, first_name,
    last_name, is_active, is_staff, date_joined, email_verified, deleted_at,
    token_generation, tier_id, username_key, username_skeleton, email_key
)
SELECT
    gen_random_uuid(), %(password)s, NULL, false, 'user' || i,
    'user' || i || '@example.com', 'First' || (i %% 5003),
    'Last' || (i %% 7919), i %% 1000 <> 0, i <= 10,
    now() - make_interval(secs => i), i %% 3 <> 0,
    CASE WHEN i %% 5000 = 0 THEN now() - interval '40 days' END, 0, NULL,
    -- the keys User.save() would write (accounts.identifiers): only 0 and 1
    -- have another skeleton among these characters
    'user' || i, 'user' || translate(i::text, '01', 'ol'), 'user' || i || '@example.com'
FROM generate_series(1, %(count)s) AS i
"""


@pytest.fixture(scope="module")
def _seeded(django_db_setup, django_db_blocker):
    """Committed once for the module (seeding takes most of a minute), then
    removed; each test still runs in its own rolled-back transaction."""
    with django_db_blocker.unblock():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                INSERT,
                {"password": make_password("scale passphrase"), "count": ACCOUNTS},
            )
            inserted = time.perf_counter()
            cursor.execute("ANALYZE accounts_user")
        analysed = time.perf_counter()
        print(
            f"\ninserted {ACCOUNTS:,} accounts in {inserted - started:.1f} s, "
            f"ANALYZE {analysed - inserted:.1f} s"
        )
        yield
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE accounts_user CASCADE")


@pytest.fixture
def million_users(_seeded, db):
    pass


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def plans_of(queries) -> list[str]:
    """EXPLAIN ANALYZE of every captured query that reads accounts_user."""
    return [
        explain(query["sql"])
        for query in queries
        if query["sql"].lstrip().upper().startswith("SELECT")
        and '"accounts_user"' in query["sql"]
    ]


def show(title: str, plan: str) -> None:
    print(f"\n--- {title}\n{plan}")


def test_sign_in_lookup_uses_the_case_insensitive_indexes(million_users):
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        missing = User.objects.for_login("someone@example.com")
        found = User.objects.for_login("USER654321@example.com")
        elapsed = time.perf_counter() - started

    plans = plans_of(captured.captured_queries)
    for plan in plans:
        show(f"for_login ({elapsed * 1000:.1f} ms for both lookups)", plan)
    assert missing is None
    assert found.username == "user654321"
    assert len(plans) == 2
    assert all("Seq Scan on accounts_user" not in plan for plan in plans)


def test_staff_search_first_page_uses_the_trigram_indexes(million_users):
    page = selectors.staff_user_list(search="user12345").order_by(
        "-date_joined", "-id"
    )[:50]

    started = time.perf_counter()
    usernames = [user.username for user in page]
    elapsed = time.perf_counter() - started
    plan = page.explain(analyze=True, buffers=True)

    show(f"staff search ({elapsed * 1000:.1f} ms)", plan)
    assert usernames[0] == "user12345"
    assert set(usernames) == {"user12345", *(f"user12345{d}" for d in range(10))}
    assert "Seq Scan on accounts_user" not in plan
    assert "accounts_user_username_trgm" in plan


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "user12345"},
        {"q": "user12345@example"},
        {"is_active__exact": "0"},
        {"deleted": "yes"},
        {"is_staff__exact": "1"},
        {"p": "3"},
    ],
    ids=["first-page", "search", "search-email", "inactive", "deleted", "staff", "p3"],
)
def test_admin_changelist_reads_no_table_scan(million_users, query):
    client = Client()
    client.force_login(
        UserFactory(
            username="scaleroot",
            email="scaleroot@example.org",
            is_staff=True,
            is_superuser=True,
        )
    )

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get("/admin/accounts/user/", query)
        elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert response.context["cl"].result_list
    plans = plans_of(captured.captured_queries)
    for plan in plans:
        show(f"admin changelist {query} ({elapsed * 1000:.0f} ms)", plan)
    assert all("Seq Scan on accounts_user" not in plan for plan in plans)
    # No exact COUNT(*) over the table: the paginator estimates or caps it.
    assert not any(
        "count(*)" in q["sql"].lower() and " LIMIT " not in q["sql"]
        for q in captured.captured_queries
        if '"accounts_user"' in q["sql"]
    )
