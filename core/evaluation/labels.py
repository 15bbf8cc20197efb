"""What each metric is called where people read a report (the terminal table, the HTML page),
in report order."""

from __future__ import annotations

LABELS: dict[str, str] = {
    "hit_at_1": "retrieval hit@1",
    "hit_at_3": "retrieval hit@3",
    "hit_at_5": "retrieval hit@5",
    "mrr_at_10": "retrieval MRR@10",
    "citation_accuracy": "citation accuracy",
    "citations_verified": "citations verified",
    "answer_containment": "answer containment",
    "abstention_precision": "abstention precision",
    "abstention_recall": "abstention recall",
    "abstention_f1": "abstention F1",
    "total_ms_p50": "latency p50 (ms)",
    "total_ms_p95": "latency p95 (ms)",
}
RATIOS = [name for name in LABELS if not name.startswith("total_ms")]
