"""Zip-based formats (.docx, .pptx, .xlsx, .epub) checked before a library unpacks them: a few
hundred KB can declare gigabytes of XML, or millions of members, that the library would try
to hold in memory."""

from __future__ import annotations

import io
import zipfile

from core.errors import LoadError

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
# Real packages have tens to a few thousand members (a deck's media, a book's chapters).
MAX_MEMBERS = 20_000

_MB = 1024 * 1024
# What zipfile raises for an archive it cannot list.
ZIP_FAILURES: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
)


def refuse_zip_bomb(
    data: bytes, corrupt_code: str, too_large_code: str = "archive_too_large"
) -> None:
    """Raise LoadError unless `data` is a zip whose members together declare at most
    MAX_UNCOMPRESSED_BYTES once unpacked. zipfile stops reading a member at its declared size
    and then fails its CRC check, so the declared sizes bound what any reader can inflate."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except ZIP_FAILURES as exc:
        raise LoadError(corrupt_code, problem=reason(exc)) from exc
    if len(members) > MAX_MEMBERS:
        raise LoadError("archive_too_many_members", members=len(members), limit=MAX_MEMBERS)
    declared = sum(member.file_size for member in members)
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise LoadError(
            too_large_code,
            size_mb=declared // _MB,
            limit_mb=MAX_UNCOMPRESSED_BYTES // _MB,
        )


def reason(exc: BaseException) -> str:
    """An exception as one short line for a failure reason."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
