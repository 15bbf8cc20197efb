"""Catalog databases for tests: `catalog_url` runs a test on SQLite (None: the data directory's
catalog) and on PostgreSQL at 127.0.0.1:5432, database `test`, in a schema of its own that is
dropped afterwards. An absent server skips, except in CI (CI=true), where it fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.servers import unavailable

PG_HOSTPORT, PG_DATABASE = "127.0.0.1:5432", "test"
# Trust authentication: the user is whichever role the machine's server has.
PG_USERS = ("postgres", "root")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of database `test`, with a user the server accepts."""
    errors: list[str] = []
    for user in PG_USERS:
        url = f"postgresql://{user}@{PG_HOSTPORT}/{PG_DATABASE}"
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return url
        except psycopg.Error as exc:
            errors.append(f"{user}: {str(exc).strip()}")
    unavailable(f"no PostgreSQL at {PG_HOSTPORT}/{PG_DATABASE}: {'; '.join(errors)}")
    raise AssertionError("unreachable")


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh schema of its own, first on the search path of every connection to the URL."""
    schema = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{postgres_server}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute("SET lock_timeout = '10s'")
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def catalog_url(request: pytest.FixtureRequest) -> str | None:
    """ZHIKU_DATABASE_URL for a test that runs on both catalogs: None means SQLite."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url
