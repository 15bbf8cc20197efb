"""Content safety (内容安全): word lists checked on questions and answers.

Terms come from files named by settings, one term per line (`#` starts a comment), for the
whole deployment and optionally per collection. They are matched in one pass by an
Aho-Corasick automaton over text normalised the way people dodge lists: NFKC (fullwidth
letters become halfwidth), case folded, format characters (zero-width and the like) dropped;
each match is mapped back to its span in the original text. A term that begins or ends with
an ASCII letter or digit matches only at a word boundary there, so "ass" does not hit "class";
Chinese terms match anywhere. With no list configured nothing is built and nothing runs."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from core.errors import ConfigError, ContentRefused
from core.retrieval.language import Language
from core.settings import Settings
from core.telemetry import CONTENT_SAFETY

MASK = "*"
WITHHELD: dict[Language, str] = {
    "zh": "该回答包含不允许展示的内容，已被屏蔽。",
    "en": "The answer was withheld: it contains content that may not be shown.",
}


def normalise(text: str) -> tuple[str, list[int]]:
    """The text as matched, and for each of its characters the index of the original
    character it came from."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            out.append(ch.lower())
            origin.append(i)
            continue
        if unicodedata.category(ch) == "Cf":
            continue
        for c in unicodedata.normalize("NFKC", ch).casefold():
            out.append(c)
            origin.append(i)
    return "".join(out), origin


def _wordish(c: str) -> bool:
    return c.isascii() and c.isalnum()


@dataclass(frozen=True)
class Match:
    start: int
    """Span in the original text."""
    end: int
    term: str


class WordList:
    """The terms of one or more list files, compiled once into an automaton."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        self.longest = 0
        for term in terms:
            key, _ = normalise(term.strip())
            if key:
                self._automaton.add_word(key, key)
                self.longest = max(self.longest, len(key))
        self._automaton.make_automaton()

    def __len__(self) -> int:
        return len(self._automaton)

    def find(self, text: str, complete: bool = True) -> list[Match]:
        """Matches in `text`. With `complete` false more text may follow, so a match that ends
        the text, whose word boundary is not yet known, is left for later."""
        norm, origin = normalise(text)
        found: list[Match] = []
        for end, key in self._automaton.iter(norm):
            start = end - len(key) + 1
            if _wordish(key[0]) and start > 0 and _wordish(norm[start - 1]):
                continue
            if _wordish(key[-1]) and end + 1 < len(norm) and _wordish(norm[end + 1]):
                continue
            if _wordish(key[-1]) and end + 1 == len(norm) and not complete:
                continue
            found.append(Match(origin[start], origin[end] + 1, key))
        return found

    def held_from(self, text: str) -> int:
        """Where the part of `text` that a term might still be completing begins: the last
        `longest` normalised characters (format characters between them included)."""
        norm, origin = normalise(text)
        if len(norm) <= self.longest:
            return 0
        return origin[len(norm) - self.longest]


def read_terms(paths: Iterable[str | Path]) -> list[str]:
    terms: list[str] = []
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the content safety list {path}: {exc}") from exc
        terms += [t for t in (line.split("#", 1)[0].strip() for line in lines) if t]
    return terms


def mask(text: str, matches: Iterable[Match]) -> str:
    chars = list(text)
    for m in matches:
        chars[m.start : m.end] = MASK * (m.end - m.start)
    return "".join(chars)


class AnswerScreen:
    """The streamed answer's screen: text passes through `feed` with a tail held back as long
    as the longest term, so a term split across deltas is still caught whole."""

    def __init__(self, words: WordList, withhold: bool, language: Language) -> None:
        self._words = words
        self._withhold = withhold
        self._language = language
        self._held = ""
        # The last character let through: a term's word boundary may depend on it.
        self._before = ""
        self.withheld = False

    def feed(self, text: str) -> str:
        return self._screen(text, complete=False)

    def close(self) -> str:
        return self._screen("", complete=True)

    def _screen(self, text: str, complete: bool) -> str:
        if self.withheld:
            return ""
        held = self._before + self._held + text
        skip = len(self._before)
        found = [m for m in self._words.find(held, complete) if m.end > skip]
        if found and self._withhold:
            self.withheld = True
            self._held = ""
            CONTENT_SAFETY.labels("answer", "withheld").inc()
            return ("\n\n" if self._before else "") + WITHHELD[self._language]
        if found:
            CONTENT_SAFETY.labels("answer", "masked").inc(len(found))
            held = mask(held, found)
        cut = len(held) if complete else max(skip, self._words.held_from(held))
        out, self._held = held[skip:cut], held[cut:]
        if out:
            self._before = out[-1]
        return out


class ContentSafety:
    """The lists of a deployment, loaded once at start: one automaton for the deployment, and
    one per collection that has lists of its own (the deployment's terms with its own)."""

    def __init__(
        self, deployment: list[str], per_collection: dict[str, list[str]], withhold: bool
    ) -> None:
        self._withhold = withhold
        self._deployment = WordList(deployment) if deployment else None
        self._collections = {
            name: WordList([*deployment, *terms]) for name, terms in per_collection.items() if terms
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> ContentSafety | None:
        """None when no list holds a term: then nothing is checked at all."""
        paths = [p.strip() for p in settings.content_safety_lists.split(",") if p.strip()]
        deployment = read_terms(paths)
        per_collection = {
            name: read_terms(files)
            for name, files in settings.content_safety_collection_lists.items()
        }
        if not deployment and not any(per_collection.values()):
            return None
        return cls(deployment, per_collection, settings.content_safety_answer == "withhold")

    def words(self, collection: str) -> WordList | None:
        return self._collections.get(collection, self._deployment)

    def screen_question(self, collection: str, question: str) -> None:
        """Raises ContentRefused when the question holds a listed term."""
        words = self.words(collection)
        if words is not None and words.find(question):
            CONTENT_SAFETY.labels("question", "refused").inc()
            raise ContentRefused("content_refused")

    def answer_screen(self, collection: str, language: Language) -> AnswerScreen | None:
        words = self.words(collection)
        return AnswerScreen(words, self._withhold, language) if words is not None else None
