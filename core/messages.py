"""Every message a client can be sent, one English template per stable code: errors and the
failure reasons of documents and jobs carry the code and its parameters, so the web page
(app/web/js/messages.js, which holds the same codes in its languages) can say them in the
reader's language while API clients keep this English text."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SUPPORTED = (
    "supported: PDF, Word (.docx), PowerPoint (.pptx), Excel (.xlsx), CSV, EPUB, Markdown,"
    " HTML, plain text, pictures (PNG, JPEG, TIFF, WebP)"
)

TEMPLATES: dict[str, str] = {
    # Keys and scopes.
    "api_key_required": "this service needs an API key: send `Authorization: Bearer KEY`",
    "api_key_invalid": "the API key is not valid: not one of ZHIKU_API_KEYS, nor an unrevoked"
    " key of `zhiku keys list`",
    "collection_read_only": "this API key may not change collection {collection!r}",
    "admin_required": "managing API keys needs a key with the admin scope",
    "key_needs_scope": "a key needs a scope: read, write (collections, or '*' for all) or admin",
    "key_not_found": "API key {key!r} does not exist",
    # Things that do not exist.
    "collection_not_found": "collection {name!r} does not exist; create it first",
    "collection_id_not_found": "collection id {id!r} does not exist",
    "document_not_found": "document {document!r} does not exist in this collection",
    "document_has_no_job": "document {document!r} has no job",
    "job_not_found": "job {job!r} does not exist",
    "conversation_not_found": "conversation {conversation!r} does not exist in this collection",
    "stored_file_missing": "the stored file {digest} is missing",
    "reembed_not_running": "this collection is not being re-embedded",
    "reembed_no_longer_running": "this collection is no longer being re-embedded",
    "evaluation_not_found": "evaluation {evaluation!r} does not exist in this collection",
    "route_not_found": "Not Found",
    "method_not_allowed": "Method Not Allowed",
    # Clashes with what is stored.
    "collection_exists": "collection {name!r} already exists",
    "conversation_has_no_question": "conversation {conversation!r} has no question to answer again",
    "job_not_cancellable": "job {job} is {state}; only queued or running jobs can be cancelled",
    "job_not_retriable": "job {job} is {state}; only failed or cancelled jobs can be retried",
    "job_already_retried": "job {job} was already retried as job {retry}",
    "retry_of_refused_file": "the file was refused when it was added ({reason});"
    " add a fixed file instead",
    "reembed_running": "this collection is already being re-embedded",
    "evaluation_not_done": "evaluation {evaluation} is {state}; its report is there once it is"
    " done",
    "evaluation_running": "evaluation {evaluation} of this collection is still running; wait"
    " for it or delete it first",
    "collection_reembedding": "collection {name!r} is already being re-embedded",
    "reembed_taken_over": "another worker took this re-embedding over",
    "model_already_used": "collection {name!r} already uses {model!r}",
    "embedding_model_unavailable": "embedding model {model!r} cannot be opened here: name a"
    " model of core/embedding's EMBEDDERS or one in the local Hugging Face cache",
    "collection_model_unavailable": "collection {name!r} was created with embedding model"
    " {model!r}, which this process cannot open (it uses {current!r}); set"
    " ZHIKU_EMBEDDING_MODEL to match",
    "vectors_model_mismatch": "this collection's vectors were made with {recorded!r}, not"
    " {model!r}; set ZHIKU_EMBEDDING_MODEL back or use another collection",
    "query_model_mismatch": "collection {name!r} was embedded with {model!r}; this service"
    " embeds queries with {current!r}",
    "data_dir_locked": "the data directory is in use by another process; the embedded vector"
    " store allows one process",
    # Requests and uploads over their limits.
    "too_many_files": "{count} files in one request; the limit is {limit}"
    " (ZHIKU_MAX_UPLOAD_FILES): send them in several requests",
    "file_over_limit": "over the {limit_mb:g} MB limit",
    "files_over_limit": "the files are over {limit_mb:g} MB in all"
    " (ZHIKU_MAX_UPLOAD_REQUEST_MB): send them in several requests",
    "upload_over_limit": "the upload is over {limit_mb:g} MB in all"
    " (ZHIKU_MAX_UPLOAD_REQUEST_MB); send its files in several requests",
    "body_over_limit": "the request body is over {limit_kb} KB (ZHIKU_MAX_JSON_KB)",
    "file_too_large": "the file is {size_mb:.1f} MB, over the {limit_mb:g} MB limit"
    " (ZHIKU_MAX_UPLOAD_MB)",
    "rate_limited": "too many requests; slow down and try again later",
    "auth_rate_limited": "too many requests with a wrong API key from this address;"
    " try again later",
    # Malformed requests. A request's fields are checked by pydantic, whose English words
    # for each problem are the parameter `problem`; the page has its own for each code.
    "no_files": "send at least one file in the multipart field 'files'",
    "bad_request": "{problem}",
    "http_error": "{problem}",
    "body_not_json": "{field}: {problem}",
    "field_missing": "{field}: {problem}",
    "field_too_short": "{field}: {problem}",
    "field_too_long": "{field}: {problem}",
    "number_too_small": "{field}: {problem}",
    "number_too_large": "{field}: {problem}",
    "field_invalid": "{field}: {problem}",
    "question_empty": "{field}: {problem}",
    "last_message_not_user": "{field}: {problem}",
    "chat_needs_user_message": "the last message must be a non-empty user message",
    "question_too_long": "the question is {length} characters; the limit is {limit}"
    " (ZHIKU_MAX_QUESTION_CHARS)",
    "too_many_messages": "the request has {count} messages; the limit is {limit}"
    " (ZHIKU_MAX_CHAT_MESSAGES): start a new conversation or send fewer",
    "messages_too_long": "the messages have {chars} characters in all; the limit is {limit}"
    " (ZHIKU_MAX_CHAT_CHARS)",
    # Golden sets (`zhiku eval`, evaluation jobs).
    "golden_line_invalid": "{source}, line {line}: not a golden-set entry: {problem}",
    "golden_entry_invalid": "{source}, {where}: not a SQuAD entry: {problem}",
    "golden_csv_no_question": "{source}: the CSV's header row has no `question` column",
    "golden_not_text": "{source} is not UTF-8 text",
    "golden_empty": "{source} holds no questions",
    "evaluation_file_not_found": "{source} is not a file",
    "evaluation_compare_needs_local": "--compare answers under other settings in this process,"
    " and the service at {url} owns the data directory: stop it first",
    "evaluation_setting_unknown": "{source}: {name} is not a Zhiku setting (see .env.example)",
    "evaluation_setting_invalid": "{source}: a setting is not valid: {problem}",
    "evaluation_sets_differ": "the two reports are of different question sets; only reports of"
    " the same set compare",
    "calibration_needs_both": "fitting the abstention threshold needs questions with an answer"
    " and questions without one (null), each with the evidence score its answer was decided on",
    "golden_file_missing": "send the golden set as the multipart field 'file' (JSON lines,"
    ' SQuAD JSON or CSV), or as JSON {{"items": [...]}}',
    "golden_too_many_questions": "the golden set has {count} questions; the limit is {limit}:"
    " split it into several runs",
    # The refusal names no term: a list is policy, not something to probe term by term.
    "content_refused": "这个问题包含不允许的内容，无法回答。"
    "The question contains content that is not allowed.",
    # Files that cannot be read: refused at upload, or a document's failure reason.
    "unsupported_type": "{media_type} is not supported; " + SUPPORTED,
    "unrecognised_binary": "unrecognised binary data: not a PDF, an Office document, an EPUB, a"
    " picture or a text file; " + SUPPORTED,
    "file_empty": "the file is empty (0 bytes)",
    "file_no_text": "the file has no text",
    "text_undecodable": "could not decode the text: not UTF-8, UTF-16 or GB18030",
    "document_empty": "no text to index: the document is empty once read",
    "html_no_text": "no extractable text in the HTML page",
    "docx_corrupt": "the Word document is corrupt: {problem}",
    "docx_no_text": "the Word document has no text",
    "docx_too_large": "the Word document unpacks to {size_mb} MB, over the {limit_mb} MB limit;"
    " it may be a zip bomb",
    "archive_too_large": "the file unpacks to {size_mb} MB, over the {limit_mb} MB limit; it may"
    " be a zip bomb",
    "archive_too_many_members": "the file is an archive of {members} parts, over the limit of"
    " {limit}; it may be a zip bomb",
    "pptx_corrupt": "the PowerPoint file is corrupt: {problem}",
    "pptx_no_text": "the PowerPoint file has no text on its slides or in their notes",
    "xlsx_corrupt": "the Excel workbook is corrupt: {problem}",
    "xlsx_no_text": "the Excel workbook has no values in its visible sheets",
    "xlsx_formulas_uncomputed": "the Excel workbook has {cells:plural:formula|formulas} without"
    " a saved result (it was written by a program, never calculated); open and save it in Excel"
    " or LibreOffice first",
    "sheet_too_large": "sheet {sheet!r} passes {limit} filled cells at row {row}; split the"
    " workbook or keep only the rows you need",
    "csv_corrupt": "the CSV file cannot be read at row {row}: {problem}",
    "csv_too_large": "the CSV file passes {limit} filled cells at row {row}; split it or keep"
    " only the rows you need",
    "epub_corrupt": "the EPUB book is corrupt: {problem}",
    "epub_no_text": "the EPUB book has no text in its chapters",
    "epub_encrypted": "the EPUB book is protected by DRM (its chapters are encrypted); remove"
    " the protection and upload it again",
    "pdf_corrupt": "the PDF is corrupt or truncated: {problem}",
    "pdf_encrypted": "the PDF is encrypted and needs a password; remove the password and upload"
    " it again",
    "pdf_no_pages": "the PDF has no pages",
    "pdf_scanned": "no extractable text: the PDF looks scanned or image-only"
    " ({pages:plural:page|pages}); OCR is turned off (ZHIKU_OCR)",
    "pdf_garbled": "the PDF's text layer is unreadable (garbled font encoding); OCR is turned"
    " off (ZHIKU_OCR)",
    "ocr_no_text": "no text found: OCR read nothing from the {pages:plural:page|pages} without"
    " a text layer",
    "image_ocr_off": "the file is a picture: its text can only be read by OCR, which is turned"
    " off (ZHIKU_OCR)",
    "image_corrupt": "the picture is corrupt or truncated: {problem}",
    "image_too_large": "the picture has {megapixels} megapixels, over the limit of {limit_mp};"
    " it may be built to exhaust memory",
    "pdf_page_bomb": "page {page} of the PDF inflates to more than pypdf reads ({problem});"
    " the file looks built to exhaust memory",
    "parse_memory_limit": "the document needs more than {memory_mb} MB of memory to read"
    " (ZHIKU_PARSE_MEMORY_MB); it is too large, or built to inflate when read",
    "parse_time_limit": "the document took longer than {seconds:g} s to read"
    " (ZHIKU_PARSE_TIMEOUT_SECONDS)",
    "worker_out_of_memory": "the document needs more memory to read than this worker has",
    "parser_killed": "the parser process died while reading the document (killed by"
    " {signal}) ({failures:plural:time|times}); it was given up",
    "parser_exited": "the parser process died while reading the document (exit status"
    " {status}) ({failures:plural:time|times}); it was given up",
    "worker_stopped_repeatedly": "the worker stopped {attempts} times while processing this"
    " document (killed or out of memory); it was given up",
    "job_cancelled": "cancelled",
    "processing_failed": "internal error while processing ({kind}); the worker's log says more",
    "evaluation_interrupted": "the evaluation stopped before it finished: the service running"
    " it stopped or restarted; start it again",
    "evaluation_failed": "internal error while evaluating ({kind}); the service log says more",
    # The service's own parts.
    "config_error": "the service is misconfigured; the service log says how",
    "backend_unavailable": "a storage backend of the service failed; the service log has the"
    " details",
    "upstream_failed": "the language model server failed; the service log has the details",
    "upstream_unreachable": "could not connect to the language model server; check"
    " ZHIKU_LLM_BASE_URL and that the server is running",
    "upstream_status": "the language model server answered HTTP {status}",
    "upstream_status_key": "the language model server answered HTTP {status}; check"
    " ZHIKU_LLM_API_KEY",
    "upstream_status_forbidden": "the language model server answered HTTP {status}; check"
    " ZHIKU_LLM_API_KEY and that it may use this model",
    "upstream_status_model": "the language model server answered HTTP {status}; check"
    " ZHIKU_LLM_MODEL and ZHIKU_LLM_BASE_URL (which usually ends in /v1)",
    "upstream_rate_limited": "the language model server answered HTTP {status}; the server is"
    " rate limiting; try again later",
    "upstream_not_event_stream": "the language model server did not answer with an event"
    " stream; check ZHIKU_LLM_BASE_URL",
    "upstream_not_json": "the language model server sent data that is not a JSON object",
    "upstream_stream_broken": "the answer stream from the language model server broke off",
    "upstream_stream_incomplete": "the answer stream from the language model server ended"
    " before the answer was complete",
    "upstream_failed_mid_answer": "the language model server failed mid-answer",
    "upstream_timeout": "the language model server did not answer within {seconds:g} s; check"
    " that it is running and not overloaded, or raise ZHIKU_LLM_TIMEOUT_SECONDS",
    "local_model_failed": "the local model failed while generating; the service log has the"
    " details",
    "internal_error": "an internal error occurred; see the service log",
}


class _Formatter(string.Formatter):
    """str.format, plus `{n:plural:one|many}`, which English needs where the page's
    languages each say it their own way."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec.startswith("plural:"):
            one, many = format_spec.removeprefix("plural:").split("|")
            return f"{value} {one if value == 1 else many}"
        return format(value, format_spec)


_FORMATTER = _Formatter()


def render(code: str, params: Mapping[str, Any]) -> str:
    """The English text of `code` with its parameters; one about a file of an upload of
    several (parameter `file`) starts with the file's name."""
    text: str = _FORMATTER.vformat(TEMPLATES[code], (), params)
    return f"{params['file']!r}: {text}" if "file" in params else text


@dataclass(frozen=True)
class Reason:
    """A message as stored and sent: its code and the parameters its templates take."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in TEMPLATES:
            raise KeyError(f"no message template for code {self.code!r}")

    @property
    def text(self) -> str:
        return render(self.code, self.params)
