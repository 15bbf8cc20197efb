"""`zhiku check`: one line per collection after checking (and repairing) it."""

from __future__ import annotations

from core.ownership import own_data_dir
from core.resources import Resources
from core.settings import Settings
from ingest.operations import Operations


def run_check(settings: Settings, only: str | None) -> int:
    """Exit 0 when everything agreed or was repaired."""
    with own_data_dir(settings, role="check"), Resources(settings) as resources:
        operations = Operations(resources)
        catalog = resources.catalog
        collections = [catalog.get_collection(only)] if only else catalog.list_collections()
        for collection in collections:
            report = operations.check(collection)
            state = "consistent" if report.consistent else "repaired"
            print(
                f"{report.collection}: {state}; {report.chunks} chunks;"
                f" vectors +{report.vectors_restored} -{report.vectors_removed};"
                f" lexical +{report.lexical_restored} -{report.lexical_removed}"
            )
    return 0
