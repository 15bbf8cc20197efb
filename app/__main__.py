"""`python -m app`: the service, as `zhiku serve`."""

from app.cli import main

main(["serve"])
