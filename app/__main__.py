"""`python -m app`: the service, as `zhiku serve`."""

from app.main import serve
from core.settings import get_settings

# Guarded: the parse pool's spawned processes import the main module again.
if __name__ == "__main__":
    serve(get_settings())
