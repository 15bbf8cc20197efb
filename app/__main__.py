"""`python -m app`: the service, as `zhiku serve`."""

from app.cli import main

# Guarded: the parse pool's spawned processes import the main module again.
if __name__ == "__main__":
    main(["serve"])
