"""The SQLite engine shared by every thread of a process."""

import sqlite3
from functools import cache
from typing import Any

from sqlalchemy import Engine, event, insert
from sqlmodel import Session, SQLModel, create_engine

from models.task import RevisionMark
from settings import get_settings

# Writers wait for each other instead of failing with "database is locked";
# every state change is one statement, so waits are short.
BUSY_TIMEOUT_S = 30


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


@cache
def _engine_for(url: str) -> Engine:
    connect_args = {}
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_S}
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=False)
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def get_engine() -> Engine:
    return _engine_for(get_settings().db_url)


def init_db() -> None:
    """Create the data directory and the tables that are missing."""
    settings = get_settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    SQLModel.metadata.create_all(get_engine())
    with get_engine().begin() as connection:
        mark = insert(RevisionMark).values(id=1, revision=0)
        connection.execute(mark.prefix_with("OR IGNORE"))


def session() -> Session:
    return Session(get_engine(), expire_on_commit=False)
