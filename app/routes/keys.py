"""API keys, for a caller with the admin scope: create one (its secret is in this one answer
and nowhere else), list them, revoke one. `zhiku keys` does the same from a shell."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import AdminDep, CatalogDep, KeyRingDep
from app.key_schemas import KeyCreate, KeyCreated, KeyPublic
from app.openapi_errors import BODY, errors
from core.keys import create_key
from core.scopes import Scopes

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.post("", status_code=201, responses=errors(*BODY))
def create(body: KeyCreate, _: AdminDep, catalog: CatalogDep, ring: KeyRingDep) -> KeyCreated:
    key, secret = create_key(catalog, body.name, Scopes.of(body.read, body.write, body.admin))
    ring.forget()
    return KeyCreated(**KeyPublic.of(key).model_dump(), secret=secret)


@router.get("")
def list_keys(_: AdminDep, catalog: CatalogDep) -> list[KeyPublic]:
    return [KeyPublic.of(k) for k in catalog.list_keys()]


@router.delete("/{key_id}", status_code=204, responses=errors(404))
def revoke(key_id: str, _: AdminDep, catalog: CatalogDep, ring: KeyRingDep) -> Response:
    catalog.revoke_key(key_id)
    ring.forget()
    return Response(status_code=204)
