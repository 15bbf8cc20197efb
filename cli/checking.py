"""`zhiku check`: one line per collection after checking (and repairing) it."""

from __future__ import annotations

from core.ownership import own_data_dir
from core.resources import Resources
from core.settings import Settings
from ingest.operations import Operations


def run_check(settings: Settings, only: str | None) -> int:
    """Exit 0 when everything agreed or was repaired."""
    with own_data_dir(settings, role="check"):
        resources = Resources(settings)
        try:
            operations = Operations(resources)
            names = [only] if only else [c.name for c in resources.catalog.list_collections()]
            for name in names:
                report = operations.check(resources.catalog.get_collection(name))
                state = "consistent" if report.consistent else "repaired"
                print(
                    f"{report.collection}: {state}; {report.chunks} chunks;"
                    f" vectors +{report.vectors_restored} -{report.vectors_removed};"
                    f" lexical +{report.lexical_restored} -{report.lexical_removed}"
                )
        finally:
            resources.close()
    return 0
