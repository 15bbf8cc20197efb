"""`python -m ingest worker`: the ingestion worker, as `zhiku worker`."""

import sys

from core.settings import get_settings
from ingest.run import run_worker

# Guarded: the parse pool's spawned processes import the main module again.
if __name__ == "__main__":
    if sys.argv[1:] != ["worker"]:
        sys.exit("usage: python -m ingest worker")
    sys.exit(run_worker(get_settings()))
