"""Prometheus metrics recorded below the HTTP layer: by the worker (pages and chunks ingested)
and by the answer service (retrieval and generation latency, what the output filter and
the content safety lists took out). One process each (a service or
a worker container), so prometheus-client's default registry serves without multiprocess
mode; a worker's counters show on the /metrics of the service it runs in."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PAGES_INGESTED = Counter("zhiku_pages_ingested", "Pages parsed into searchable chunks")
CHUNKS_INGESTED = Counter("zhiku_chunks_ingested", "Chunks stored in the catalog and lexical index")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
RETRIEVAL_SECONDS = Histogram(
    "zhiku_retrieval_seconds", "Hybrid retrieval time per question", buckets=_LATENCY_BUCKETS
)
GENERATION_SECONDS = Histogram(
    "zhiku_generation_seconds",
    "Answer generation time per question (LLM backend, citations verified)",
    buckets=_LATENCY_BUCKETS,
)

# Content safety (core/content_safety.py): questions refused, answers masked or withheld.
CONTENT_SAFETY = Counter(
    "zhiku_content_safety",
    "Content safety list hits: where (question, answer) and the action taken",
    ["where", "action"],
)
# The output filter (core/answer/output_filter.py): what it took out of answers.
ANSWER_FILTERED = Counter(
    "zhiku_answer_filtered",
    "Parts of answers removed: image, link, citation, token, prompt (system prompt echoed)",
    ["what"],
)
