"""Every loaded document's text made safe before it is split and indexed (core/sanitize.py):
what a reader of the file cannot see is not indexed, and no chat-template token reaches a
model through a retrieved passage."""

from __future__ import annotations

from dataclasses import replace

from core.sanitize import sanitize
from core.types import LoadedDocument


def sanitize_document(loaded: LoadedDocument) -> LoadedDocument:
    """Section texts and headings sanitized; a section left with no text is dropped. Offsets
    then point into the sanitized text, which is the text that is indexed and shown."""
    sections = []
    for section in loaded.sections:
        text = sanitize(section.text)
        if text.strip():
            headings = tuple(sanitize(h) for h in section.heading_path)
            sections.append(replace(section, text=text, heading_path=headings))
    return replace(loaded, sections=sections)
