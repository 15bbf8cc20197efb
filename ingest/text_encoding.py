"""Decode uploaded text bytes (UTF-8, UTF-16, GB18030 and what charset-normalizer finds)."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from core.errors import LoadError

# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# C0/C1 controls other than tab, newline, vertical tab, form feed and carriage return.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_RATIO = 0.01
_SAMPLE = 8192
_SAMPLE_CHARS = 20000


def decode_text(data: bytes) -> str:
    """Decode `data` as text with newlines normalised to "\\n".

    Raises `LoadError` when the bytes are not text in an encoding we can recognise, including
    bytes that decode but are full of NULs or control characters (binary data).
    """
    text = _decode(data)
    if text is None:
        raise LoadError("text_undecodable")
    if text.startswith("\ufeff"):
        text = text[1:]
    controls = len(CONTROL_CHARS.findall(text))
    if controls > _MAX_CONTROL_RATIO * max(len(text), 1):
        raise LoadError("text_undecodable")
    if controls:
        text = CONTROL_CHARS.sub("", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(data[len(bom) :], encoding)
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return _strict(data, utf16)
    if b"\x00" in data:
        # NULs outside a UTF-16 pattern mean binary data; no 8-bit text encoding uses them.
        return None
    text = _strict(data, "utf-8")
    if text is not None:
        return text
    text = _strict(data, "gb18030")
    if text is not None and _mostly_cjk(text):
        return text
    return _guess(data)


def _guess(data: bytes) -> str | None:
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    # charset-normalizer cannot tell the Western code pages apart on short texts and often
    # names cp1250 or cp1257; Windows-1252 is by far the likeliest, so it wins near-ties.
    for match in matches:
        if "cp1252" in match.could_be_from_charset and match.chaos <= best.chaos + 0.1:
            return _strict(data, "cp1252") or str(best)
    return str(best)


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _utf16_without_bom(data: bytes) -> str | None:
    """Spot BOM-less UTF-16 by the NUL high bytes that ASCII characters leave behind."""
    sample = data[:_SAMPLE]
    half = len(sample) // 2
    if half < 2:
        return None
    even_nuls = sample[0 : half * 2 : 2].count(0)
    odd_nuls = sample[1 : half * 2 : 2].count(0)
    # Chinese UTF-16 has few NULs (only its ASCII and some ideographs leave them), but they
    # fall almost all on one side: odd offsets for little-endian, even for big-endian.
    if odd_nuls >= 0.02 * half and even_nuls <= 0.1 * odd_nuls:
        return "utf-16-le"
    if even_nuls >= 0.02 * half and odd_nuls <= 0.1 * even_nuls:
        return "utf-16-be"
    return None


def _mostly_cjk(text: str) -> bool:
    """True when the text reads as Simplified Chinese, as a real GBK/GB18030 file does.

    GB18030 maps almost any byte pairs to some character, so a clean decode proves little:
    Big5 or Shift-JIS bytes also decode to ideographs, but mostly to rare ones outside the
    GB2312 set of common characters, and Latin-1 bytes to scattered symbols.
    """
    non_ascii = [ch for ch in text[:_SAMPLE_CHARS] if ord(ch) > 0x7F]
    if not non_ascii:
        return True
    chinese = [ch for ch in non_ascii if is_cjk(ch) or 0x2010 <= ord(ch) <= 0x206F]
    common = sum(1 for ch in chinese if _in_gb2312(ch))
    return len(chinese) >= 0.8 * len(non_ascii) and common >= 0.8 * len(chinese)


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


# Han ideographs (with extensions and compatibility forms), radicals, CJK punctuation, kana,
# bopomofo and full-width forms, as a regex character class body.
CJK_CHARS = (
    "\u2e80-\u2fdf\u3000-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f"
)
_CJK = re.compile(f"[{CJK_CHARS}]")


def is_cjk(ch: str) -> bool:
    return _CJK.match(ch) is not None
