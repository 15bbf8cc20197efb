"""The `zhiku` command's arguments, dispatched to the module of each subcommand."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.keys import add_keys_command
from core.errors import ZhikuError
from core.settings import Settings, get_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="zhiku", description="Zhiku 知库: cited answers from your documents"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the service (and, embedded, its ingestion worker)")
    commands.add_parser("worker", help="run an ingestion worker")
    add = commands.add_parser("add", help="add files or folders to a collection")
    add.add_argument("paths", nargs="+", type=Path)
    add.add_argument("--collection", "-c", required=True)
    add.add_argument(
        "--wait", action="store_true", help="show progress until each is ready or failed"
    )
    ask = commands.add_parser("ask", help="ask a collection a question; prints a cited answer")
    ask.add_argument("collection")
    ask.add_argument("question")
    ask.add_argument(
        "--top-k", type=int, help="passages the answer reads; default: the collection's"
    )
    ask.add_argument("--json", action="store_true", help="print the API's JSON answer")
    _add_eval_command(commands)
    check = commands.add_parser(
        "check", help="verify and repair catalog, lexical index and vector store agreement"
    )
    check.add_argument("--collection", "-c", help="only this collection")
    reembed = commands.add_parser(
        "reembed", help="change a collection's embedding model without a wipe, in the background"
    )
    reembed.add_argument("--collection", "-c", required=True)
    picked = reembed.add_mutually_exclusive_group(required=True)
    picked.add_argument("--model", "-m", help="the new model (ZHIKU_EMBEDDING_MODEL's names)")
    picked.add_argument("--status", action="store_true", help="progress of the one under way")
    picked.add_argument("--cancel", action="store_true", help="stop it; the old model stays")
    reembed.add_argument("--wait", action="store_true", help="show progress until the switch")
    add_keys_command(commands)
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        code = _run(settings, args)
    except ZhikuError as exc:
        print(f"zhiku: {exc.message}", file=sys.stderr)
        code = 2
    sys.exit(code)


def _add_eval_command(commands: Any) -> None:
    evaluating = commands.add_parser(
        "eval",
        help="score a golden set (JSON lines, SQuAD JSON or CSV: question, answer, file, page,"
        " evidence) on a collection",
    )
    evaluating.add_argument("golden", type=Path)
    evaluating.add_argument("--collection", "-c", required=True)
    evaluating.add_argument(
        "--top-k", type=int, help="passages per answer; default: the collection's"
    )
    evaluating.add_argument("--report", type=Path, help="write the report's JSON here")
    evaluating.add_argument("--html", type=Path, help="write the report as an HTML page here")
    evaluating.add_argument(
        "--compare",
        type=Path,
        metavar="OTHER.env",
        help="run the set again under these ZHIKU_* settings and show each difference",
    )
    evaluating.add_argument(
        "--calibrate",
        action="store_true",
        help="fit the collection's abstention threshold on the set and store it",
    )
    evaluating.add_argument("--json", action="store_true", help="print the report's JSON")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    # Each subcommand imports what it needs only when picked: `zhiku add` starts without
    # FastAPI, `zhiku serve` without the CLI's progress bars.
    if args.command == "serve":
        from app.main import serve

        serve(settings)
        return 0
    if args.command == "worker":
        from ingest.run import run_worker

        return run_worker(settings)
    if args.command == "ask":
        return _ask(settings, args)
    if args.command == "eval":
        from cli.evaluating import run_eval

        return run_eval(settings, args)
    if args.command == "keys":
        from cli.keys import run_keys

        return run_keys(settings, args)
    if args.command == "check":
        from cli.checking import run_check

        return run_check(settings, args.collection)
    if args.command == "reembed":
        from cli.reembedding import run_reembed

        action = "status" if args.status else "cancel" if args.cancel else "start"
        return run_reembed(settings, args.collection, args.model, action, args.wait)
    from cli.adding import add_files

    return add_files(settings, args.paths, args.collection, args.wait)


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from cli.asking import format_answer, open_asker

    with open_asker(settings, args.collection) as asker:
        answer = asker.ask(args.question, args.top_k)
    print(json.dumps(answer, ensure_ascii=False) if args.json else format_answer(answer))
    return 0
