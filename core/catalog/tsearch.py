"""PostgreSQL full-text values made from our own tokens (core/lexical_tokens.py), written as
tsvector and tsquery literals so that the server's parser never re-splits them: both sides
hold exactly the tokens the SQLite FTS5 index holds, whatever the server's locale."""

from __future__ import annotations

from collections.abc import Iterable

# PostgreSQL refuses lexemes of 2048 bytes or more, keeps positions up to 16383 and at most
# 256 of them per lexeme.
_MAX_LEXEME_BYTES = 2046
_MAX_POSITION = 16383
_MAX_POSITIONS = 256


def _quoted(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _indexable(tokens: Iterable[str]) -> list[str]:
    return [t for t in tokens if t and len(t.encode("utf-8")) <= _MAX_LEXEME_BYTES]


def tsvector_literal(text: str) -> tuple[str, int]:
    """The tsvector of space-separated tokens, with positions (term frequency for ranking),
    and the number of tokens (the chunk's length for ranking)."""
    tokens = text.split()
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(tokens, start=1):
        found = positions.setdefault(token, [])
        if len(found) < _MAX_POSITIONS:
            found.append(min(index, _MAX_POSITION))
    lexemes = " ".join(
        _quoted(t) + ":" + ",".join(map(str, positions[t])) for t in _indexable(positions)
    )
    return lexemes, len(tokens)


def lexemes(text: str) -> list[str]:
    """The distinct lexemes of `tsvector_literal(text)`: the terms a chunk counts for."""
    return _indexable(dict.fromkeys(text.split()))


def query_terms(tokens: Iterable[str]) -> list[str]:
    """The distinct tokens a query can match, in order."""
    return _indexable(dict.fromkeys(tokens))


def tsquery_literal(terms: Iterable[str]) -> str:
    """Any of the terms; any text is safe in it."""
    return " | ".join(_quoted(t) for t in terms)
