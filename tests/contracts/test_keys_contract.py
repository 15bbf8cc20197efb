"""The Keys part of the Catalog contract on SQLite and PostgreSQL: a key is found by the
digest of its secret, never stored as the secret itself, keeps its scopes, and once revoked is
found no more, by this catalog or another opened on the same database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.catalog import Catalog
from core.errors import InvalidInput, NotFound
from core.keys import create_key, secret_hash
from core.scopes import Scopes
from tests.catalog_steps import catalogs_on


@pytest.fixture
def two(tmp_path: Path, catalog_url: str | None) -> Iterator[tuple[Catalog, Catalog]]:
    """Two catalogs on one database, as the service and `zhiku keys` would open it."""
    with catalogs_on(tmp_path / "data", catalog_url) as build:
        yield build(), build()


def test_a_key_is_found_by_its_secret_and_keeps_its_scopes(two: tuple[Catalog, Catalog]) -> None:
    service, cli = two
    assert not service.has_active_keys()
    scopes = Scopes.of(read=["手册", "*"], write=["notes"])
    key, secret = create_key(cli, "报表脚本", scopes)
    found = service.active_key(secret_hash(secret))
    assert found is not None and found.id == key.id
    assert found.scopes == scopes and found.name == "报表脚本"
    assert found.last_used_at is None and found.revoked_at is None
    assert service.has_active_keys()
    assert service.active_key(secret_hash(secret + "x")) is None


def test_only_a_digest_of_the_secret_is_stored(two: tuple[Catalog, Catalog]) -> None:
    catalog = two[0]
    _, secret = create_key(catalog, "", Scopes.of(admin=True))
    with catalog.reading() as db:  # type: ignore[attr-defined]
        rows = [dict(r) for r in db.execute("SELECT * FROM api_keys").fetchall()]
    stored = repr(rows)
    assert secret not in stored and secret[3:] not in stored
    assert rows[0]["secret_hash"] == secret_hash(secret)


def test_a_revoked_key_is_found_no_more_and_stays_listed(two: tuple[Catalog, Catalog]) -> None:
    service, cli = two
    kept, _ = create_key(cli, "kept", Scopes.of(read=["*"]))
    gone, secret = create_key(cli, "gone", Scopes.of(write=["kb"]))
    revoked = cli.revoke_key(gone.id)
    assert revoked.revoked_at is not None
    assert service.active_key(secret_hash(secret)) is None
    again = cli.revoke_key(gone.id)
    assert again.revoked_at == revoked.revoked_at
    listed = service.list_keys()
    assert [k.id for k in listed] == [kept.id, gone.id]
    assert [k.revoked_at is None for k in listed] == [True, False]
    cli.revoke_key(kept.id)
    assert not service.has_active_keys()
    with pytest.raises(NotFound):
        cli.revoke_key("nope")
    with pytest.raises(NotFound):
        cli.get_key("nope")


def test_use_is_recorded_and_a_key_needs_a_scope(two: tuple[Catalog, Catalog]) -> None:
    catalog = two[0]
    key, _ = create_key(catalog, "", Scopes.of(read=["kb"]))
    catalog.touch_key(key.id)
    used = catalog.get_key(key.id).last_used_at
    assert used is not None and used >= key.created_at
    with pytest.raises(InvalidInput):
        create_key(catalog, "", Scopes.of(read=[" ", ""]))
