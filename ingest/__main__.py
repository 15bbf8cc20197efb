"""`python -m ingest worker`: the ingestion worker, as `zhiku worker`."""

import sys

from core.settings import get_settings
from ingest.run import run_worker

if sys.argv[1:] != ["worker"]:
    sys.exit("usage: python -m ingest worker")
sys.exit(run_worker(get_settings()))
