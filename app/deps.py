"""Dependencies that routes take through `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.catalog.records import Collection
from ingest.engine import Engine


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_collection(name: str, engine: EngineDep) -> Collection:
    return engine.intake.collection(name, create=False)


CollectionDep = Annotated[Collection, Depends(get_collection)]
