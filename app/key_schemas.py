"""Pydantic models of the API keys admin routes (app/routes/keys.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import CollectionName
from core.catalog.records import ApiKey


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200, pattern=r"^[^\x00-\x1f]*$")
    read: list[CollectionName] = Field(
        default=[], max_length=1000, description="collections it may read; '*' for all"
    )
    write: list[CollectionName] = Field(
        default=[], max_length=1000, description="collections it may change; '*' for all"
    )
    admin: bool = Field(default=False, description="may manage keys, and do everything")


class KeyPublic(BaseModel):
    id: str
    name: str
    read: list[str]
    write: list[str]
    admin: bool
    created_at: float
    last_used_at: float | None
    revoked_at: float | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls(
            id=key.id,
            name=key.name,
            read=sorted(key.scopes.read),
            write=sorted(key.scopes.write),
            admin=key.scopes.admin,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class KeyCreated(KeyPublic):
    secret: str = Field(description="send as `Authorization: Bearer SECRET`; shown only here")
