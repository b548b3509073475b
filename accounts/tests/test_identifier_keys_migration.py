"""Migration 0010 fills the identifier keys of existing accounts."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import PASSWORD

BEFORE = [("accounts", "0009_user_revoked_sessions")]
AFTER = [("accounts", "0010_canonical_identifier_keys")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_through_keys():
    """Run 0010 on the accounts made before it, then every later migration, so
    the current User model (with any columns added since) can read them."""
    migrate(AFTER)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def before_keys(transactional_db):
    apps = migrate(BEFORE)
    yield apps.get_model("accounts", "User")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_accounts_get_keys_and_shared_ones_stay_with_the_oldest(
    before_keys,
):
    joined = timezone.now()
    old = before_keys.objects.create(
        username="admin", email="a@example.com", date_joined=joined
    )
    # Possible before the keys: LOWER() sees different strings.
    twin = before_keys.objects.create(
        username="\u0430dmin",  # Cyrillic а
        email="a@\uff45xample.com",
        date_joined=joined + timezone.timedelta(seconds=1),
    )
    plain = before_keys.objects.create(username="\u00c4da", email="ADA@B\u00fccher.de")

    migrate_through_keys()

    old, twin, plain = (User.objects.get(pk=u.pk) for u in (old, twin, plain))
    assert (old.username_key, old.username_skeleton, old.email_key) == (
        "admin",
        "adrnin",
        "a@example.com",
    )
    # The later look-alike keeps its name but holds no key another could match.
    assert (twin.username_key, twin.username_skeleton, twin.email_key) == (
        "\u0430dmin",
        None,
        None,
    )
    assert twin.email == "a@example.com"
    assert plain.email == "ada@xn--bcher-kva.de"
    assert User.objects.for_login("\u00e4DA") == plain


def test_an_account_left_without_a_key_still_saves_its_profile(before_keys):
    before_keys.objects.create(username="admin", email="a@example.com")
    twin = before_keys.objects.create(
        username="\u0430dmin", email="a@exam\u00adple.com"
    )
    migrate_through_keys()
    twin = User.objects.get(pk=twin.pk)
    twin.set_password(PASSWORD)

    twin.first_name = "Twin"
    twin.save()

    twin.refresh_from_db()
    assert (twin.first_name, twin.username_skeleton, twin.email_key) == (
        "Twin",
        None,
        None,
    )
