"""The SQL catalog's API keys: each row holds a digest of the secret, never the secret, with
the key's scopes as JSON."""

from __future__ import annotations

import time
import uuid

from core.catalog.records import ApiKey, api_key_of
from core.catalog.sql.base import SqlBase
from core.errors import NotFound
from core.scopes import Scopes


class SqlKeys(SqlBase):
    """The Keys protocol in SQL."""

    def add_key(self, name: str, secret_hash: str, scopes: Scopes) -> ApiKey:
        key_id = uuid.uuid4().hex[:12]
        with self.transaction() as db:
            db.execute(
                "INSERT INTO api_keys (id, name, secret_hash, scopes, created_at)"
                " VALUES (?,?,?,?,?)",
                (key_id, name, secret_hash, scopes.to_json(), time.time()),
            )
        return self.get_key(key_id)

    def get_key(self, key_id: str) -> ApiKey:
        with self.reading() as db:
            row = db.execute("SELECT * FROM api_keys WHERE id=?", (key_id,)).fetchone()
        if row is None:
            raise NotFound("key_not_found", key=key_id)
        return api_key_of(row)

    def active_key(self, secret_hash: str) -> ApiKey | None:
        with self.reading() as db:
            row = db.execute(
                "SELECT * FROM api_keys WHERE secret_hash=? AND revoked_at IS NULL",
                (secret_hash,),
            ).fetchone()
        return None if row is None else api_key_of(row)

    def has_active_keys(self) -> bool:
        with self.reading() as db:
            row = db.execute("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1").fetchone()
        return row is not None

    def list_keys(self) -> list[ApiKey]:
        with self.reading() as db:
            rows = db.execute("SELECT * FROM api_keys ORDER BY created_at, id").fetchall()
        return [api_key_of(r) for r in rows]

    def revoke_key(self, key_id: str) -> ApiKey:
        with self.transaction() as db:
            db.execute(
                "UPDATE api_keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
                (time.time(), key_id),
            )
        return self.get_key(key_id)

    def touch_key(self, key_id: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE api_keys SET last_used_at=? WHERE id=?", (time.time(), key_id))
