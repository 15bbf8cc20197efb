"""Which query terms pick a lexical search's candidates. BM25 ranks by every matching chunk, so
a term found in a large share of the collection makes a query score that share: at 10⁶ chunks,
hundreds of thousands of rows per query. Its weight (idf) is small anyway, so the rarest terms
pick the candidates, within a budget of matching chunks; both catalogs apply the same rule and
rank the same way. A collection small enough that a query's terms stay within the budget is
searched with all of them, exactly as before."""

from __future__ import annotations

from collections.abc import Mapping

# Chunks a lexical search may score (the rarest term always counts, whatever its matches).
CANDIDATE_BUDGET = 2000


def rarest_terms(matches: Mapping[str, int], budget: int) -> list[str]:
    """Terms by fewest matching chunks, as long as their matches stay within `budget` (at
    least the rarest term); terms matching nothing are left out. `matches` may be counted up
    to `budget + 1` only: a term with more is never taken beside another."""
    picked: list[str] = []
    total = 0
    for term in sorted((t for t, n in matches.items() if n > 0), key=lambda t: (matches[t], t)):
        if picked and total + matches[term] > budget:
            break
        picked.append(term)
        total += matches[term]
    return picked
