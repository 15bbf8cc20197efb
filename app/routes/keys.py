"""API keys, for a caller with the admin scope: create one (its secret is in this one answer
and nowhere else), list them, revoke one. `zhiku keys` does the same from a shell."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from app.deps import AdminDep, CatalogDep, KeyRingDep
from app.openapi_access import NOT_FOUND
from core.catalog.records import ApiKey
from core.keys import create_key
from core.scopes import Scopes

router = APIRouter(prefix="/api/keys", tags=["keys"])


# A collection name as CollectionCreate takes it, or '*'.
CollectionName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^/\\\x00-\x1f]+$")]


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


@router.post("", status_code=201)
def create(body: KeyCreate, _: AdminDep, catalog: CatalogDep, ring: KeyRingDep) -> KeyCreated:
    key, secret = create_key(catalog, body.name, Scopes.of(body.read, body.write, body.admin))
    ring.forget()
    return KeyCreated(**KeyPublic.of(key).model_dump(), secret=secret)


@router.get("")
def list_keys(_: AdminDep, catalog: CatalogDep) -> list[KeyPublic]:
    return [KeyPublic.of(k) for k in catalog.list_keys()]


@router.delete("/{key_id}", status_code=204, responses={404: NOT_FOUND})
def revoke(key_id: str, _: AdminDep, catalog: CatalogDep, ring: KeyRingDep) -> Response:
    catalog.revoke_key(key_id)
    ring.forget()
    return Response(status_code=204)
