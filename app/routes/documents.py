"""Uploading, listing and deleting documents, and serving their original files."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Response, UploadFile

from app.deps import (
    CatalogDep,
    CollectionDep,
    OperationsDep,
    ResourcesDep,
    SettingsDep,
    WritableCollectionDep,
)
from app.openapi_errors import BODY, IN_COLLECTION, errors
from app.schemas import DocumentPublic, JobPublic, UploadAccepted
from core.errors import InvalidInput, TooLarge, ZhikuError

router = APIRouter(
    prefix="/api/collections/{name}/documents",
    tags=["documents"],
    responses=errors(*IN_COLLECTION),
)


@router.post("", status_code=202, responses=errors(*BODY, 415))
async def upload_documents(
    collection: WritableCollectionDep,
    operations: OperationsDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="one or more files")],
) -> list[UploadAccepted]:
    """Every file is checked before any is stored: a request with a file over the size limit,
    over the files or bytes allowed in one request (413), or of an unsupported type (415)
    stores nothing. Each accepted file is stored and its
    job committed before the response."""
    if len(files) > settings.max_upload_files:
        raise TooLarge("too_many_files", count=len(files), limit=settings.max_upload_files)
    limit = settings.max_upload_bytes
    total = 0
    received: list[tuple[str, bytes]] = []
    for upload in files:
        data = await upload.read(limit + 1)
        name = upload.filename or "upload"
        if len(data) > limit:
            raise TooLarge("file_over_limit", file=name, limit_mb=settings.max_upload_mb)
        total += len(data)
        if total > settings.max_upload_request_bytes:
            raise TooLarge("files_over_limit", limit_mb=settings.max_upload_request_mb)
        try:
            operations.inspect(name, data)
        except ZhikuError as exc:
            raise exc.about_file(name) from exc
        received.append((name, data))
    if not received:
        raise InvalidInput("no_files")
    return [
        UploadAccepted(
            document=DocumentPublic.model_validate(result.document),
            job=JobPublic.of(result.job),
            created=result.created,
        )
        for result in operations.add_files(collection, received)
    ]


@router.get("")
def list_documents(collection: CollectionDep, catalog: CatalogDep) -> list[DocumentPublic]:
    return [DocumentPublic.model_validate(d) for d in catalog.list_documents(collection.id)]


@router.get("/{document_id}")
def get_document(
    collection: CollectionDep, document_id: str, catalog: CatalogDep
) -> DocumentPublic:
    return DocumentPublic.model_validate(catalog.get_document(collection.id, document_id))


@router.get("/{document_id}/file", response_class=Response)
def get_document_file(
    collection: CollectionDep, document_id: str, resources: ResourcesDep
) -> Response:
    """The original bytes, shown in the browser (a PDF opens at `#page=N`)."""
    document = resources.catalog.get_document(collection.id, document_id)
    data = resources.blobs.get(document.id)
    headers = {
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(document.filename)}",
        "Cache-Control": "private, max-age=3600",
        "Content-Security-Policy": FILE_POLICIES.get(document.media_type, SANDBOXED),
    }
    return Response(data, media_type=document.media_type, headers=headers)


# Chrome shows a PDF through an embedded viewer that needs object-src and inline styles; no
# script of the file's own runs there. Anything else an upload could hold (an HTML page) is
# sandboxed: it must not run script on this origin.
SANDBOXED = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
# A picture opened on its own is shown by the browser in a document of its making, whose <img>
# loads the file itself.
_PICTURE = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
FILE_POLICIES = {
    "application/pdf": "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'",
    **{kind: _PICTURE for kind in ("image/png", "image/jpeg", "image/tiff", "image/webp")},
}


@router.post("/{document_id}/retry", status_code=202, responses=errors(409))
def retry_document(
    collection: WritableCollectionDep,
    document_id: str,
    catalog: CatalogDep,
    operations: OperationsDep,
) -> JobPublic:
    """A new job for a failed document, by the document's id: what a page or script knows of
    it (POST /api/jobs/{id}/retry does the same by job). Raises 409 unless it failed."""
    job = catalog.latest_job(collection.id, document_id)
    return JobPublic.of(operations.retry_job(job.id))


@router.delete("/{document_id}", status_code=204)
def delete_document(
    collection: WritableCollectionDep, document_id: str, operations: OperationsDep
) -> Response:
    operations.delete_document(collection.id, document_id)
    return Response(status_code=204)
