"""`zhiku keys create | list | revoke`: API keys kept (hashed) in the catalog. Only the catalog
is opened, so this works beside a running service (which sees a revocation within
app/keyring.py's CACHE_SECONDS). Scripts read the new secret from the last line `create`
prints, alone on it."""

from __future__ import annotations

import argparse
import time

from core.catalog import Catalog, open_catalog
from core.catalog.records import ApiKey
from core.keys import create_key
from core.scopes import Scopes
from core.settings import Settings


def add_keys_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", help="a new key; its secret is printed once, alone on the last line"
    )
    create.add_argument(
        "--read",
        nargs="+",
        action="extend",
        default=[],
        metavar="C",
        help="collections it may read ('*': all)",
    )
    create.add_argument(
        "--write",
        nargs="+",
        action="extend",
        default=[],
        metavar="C",
        help="collections it may change, and read ('*': all)",
    )
    create.add_argument("--admin", action="store_true", help="may manage keys and do anything")
    create.add_argument("--name", default="", help="what the key is for")
    actions.add_parser("list", help="every key with its scopes; never a secret")
    revoke = actions.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("id")


def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    catalog = open_catalog(settings)
    try:
        if args.action == "create":
            return _create(catalog, args)
        if args.action == "list":
            return _list(catalog)
        key = catalog.revoke_key(args.id)
        print(f"revoked {key.id} ({key.name or 'unnamed'}) at {_when(key.revoked_at)}")
        return 0
    finally:
        catalog.close()


def _create(catalog: Catalog, args: argparse.Namespace) -> int:
    scopes = Scopes.of(args.read, args.write, args.admin)
    key, secret = create_key(catalog, args.name, scopes)
    print(f"created key {key.id} ({scopes.describe()}); the secret below is shown only now:")
    print(secret)
    return 0


def _list(catalog: Catalog) -> int:
    rows = [("ID", "NAME", "SCOPES", "CREATED", "LAST USED", "REVOKED")]
    rows += [_row(k) for k in catalog.list_keys()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _row(key: ApiKey) -> tuple[str, str, str, str, str, str]:
    return (
        key.id,
        key.name or "-",
        key.scopes.describe(),
        _when(key.created_at),
        _when(key.last_used_at),
        _when(key.revoked_at),
    )


def _when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
