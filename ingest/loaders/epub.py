"""Load an EPUB book: its chapters in reading order (the package's spine), each chapter's text
as sections under the chapter's title from the table of contents. Read with zipfile and the
HTML loader's extraction (the usual Python EPUB library is AGPL)."""

from __future__ import annotations

import io
import posixpath
import zipfile
from urllib.parse import unquote, urldefrag

from lxml import etree

from core.errors import LoadError
from core.types import LoadedDocument, Section
from ingest.loaders import EPUB
from ingest.loaders.archive import ZIP_FAILURES, reason, refuse_zip_bomb
from ingest.loaders.html import decode_page, page_sections
from ingest.loaders.protocol import PageProgress

_CONTAINER = "META-INF/container.xml"
_ENCRYPTION = "META-INF/encryption.xml"
_NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "enc": "http://www.w3.org/2001/04/xmlenc#",
}
_CHAPTER_TYPES = {"application/xhtml+xml", "text/html"}
# Fonts are the one thing publishers encrypt ("obfuscate") in books without DRM.
_FONT_OBFUSCATION = (
    "http://www.idpf.org/2008/embedding",
    "http://ns.adobe.com/pdf/enc#RC",
)
# No entities, no network, no DTDs: the package is someone else's XML.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_FAILURES: tuple[type[BaseException], ...] = (*ZIP_FAILURES, etree.LxmlError, KeyError)


class EpubLoader:
    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        refuse_zip_bomb(data, "epub_corrupt")
        sections: list[Section] = []
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                _refuse_drm(archive)
                chapters, titles = _package(archive)
                for number, path in enumerate(chapters, 1):
                    page = decode_page(archive.read(path))
                    for section in page_sections(page, title_heading=False):
                        sections.append(_under_chapter(section, titles.get(path), sections))
                    progress(number, len(chapters))
        except _FAILURES as exc:
            raise LoadError("epub_corrupt", problem=reason(exc)) from exc
        if not sections:
            raise LoadError("epub_no_text")
        return LoadedDocument(media_type=EPUB, pages=max(len(chapters), 1), sections=sections)


def _under_chapter(section: Section, title: str | None, before: list[Section]) -> Section:
    """The section with the chapter's title first in its heading path, and its offset within
    the book's text (chapters joined by blank lines)."""
    path = section.heading_path
    if title and (not path or path[0] != title):
        path = (title, *path)
    offset = before[-1].offset + len(before[-1].text) + 2 if before else 0
    return Section(text=section.text, heading_path=path, offset=offset)


def _refuse_drm(archive: zipfile.ZipFile) -> None:
    if _ENCRYPTION not in archive.namelist():
        return
    root = etree.fromstring(archive.read(_ENCRYPTION), _PARSER)
    methods = root.xpath("//enc:EncryptionMethod/@Algorithm", namespaces=_NS)
    if any(str(method) not in _FONT_OBFUSCATION for method in methods):
        raise LoadError("epub_encrypted")


def _package(archive: zipfile.ZipFile) -> tuple[list[str], dict[str, str]]:
    """The chapters' paths in reading order, and the table of contents' title of each."""
    container = etree.fromstring(archive.read(_CONTAINER), _PARSER)
    rootfiles = container.xpath("//c:rootfile/@full-path", namespaces=_NS)
    if not rootfiles:
        raise LoadError("epub_corrupt", problem="META-INF/container.xml names no package")
    opf_path = str(rootfiles[0])
    opf = etree.fromstring(archive.read(opf_path), _PARSER)
    base = posixpath.dirname(opf_path)
    manifest = {
        str(item.get("id")): item for item in opf.xpath("//opf:manifest/opf:item", namespaces=_NS)
    }
    names = set(archive.namelist())
    chapters: dict[str, None] = {}
    for ref in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=_NS):
        item = manifest.get(str(ref))
        # The navigation document is the table of contents, not a chapter.
        if (
            item is None
            or item.get("media-type") not in _CHAPTER_TYPES
            or "nav" in str(item.get("properties", "")).split()
        ):
            continue
        path = _resolve(base, str(item.get("href", "")))
        if path in names:
            chapters.setdefault(path)
    return list(chapters), _toc_titles(archive, opf, manifest, base)


def _toc_titles(
    archive: zipfile.ZipFile, opf: etree._Element, manifest: dict[str, etree._Element], base: str
) -> dict[str, str]:
    """Chapter path → its first title in the EPUB 3 navigation document, else the EPUB 2 NCX."""
    titles: dict[str, str] = {}
    for item in manifest.values():
        if "nav" in str(item.get("properties", "")).split():
            path = _resolve(base, str(item.get("href", "")))
            nav = etree.fromstring(archive.read(path), _PARSER)
            tocs = nav.xpath("//xhtml:nav[@epub:type='toc']", namespaces=_NS) or [nav]
            for link in tocs[0].xpath(".//xhtml:a[@href]", namespaces=_NS):
                _add_title(
                    titles, posixpath.dirname(path), link.get("href"), link.xpath("string()")
                )
    if titles:
        return titles
    toc_id = opf.xpath("string(//opf:spine/@toc)", namespaces=_NS)
    ncx_item = manifest.get(str(toc_id))
    if ncx_item is not None:
        path = _resolve(base, str(ncx_item.get("href", "")))
        ncx = etree.fromstring(archive.read(path), _PARSER)
        for point in ncx.xpath("//ncx:navPoint", namespaces=_NS):
            label = point.xpath("string(ncx:navLabel/ncx:text)", namespaces=_NS)
            src = point.xpath("string(ncx:content/@src)", namespaces=_NS)
            _add_title(titles, posixpath.dirname(path), src, label)
    return titles


def _add_title(titles: dict[str, str], base: str, href: str | None, label: object) -> None:
    title = " ".join(str(label).split())
    if href and title:
        titles.setdefault(_resolve(base, href), title)


def _resolve(base: str, href: str) -> str:
    """A package-relative href as an archive member name, its #fragment dropped."""
    return posixpath.normpath(posixpath.join(base, unquote(urldefrag(href).url)))
