"""A data directory holding many finished tasks, written straight to the table."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, SQLModel, create_engine

from models.task import Task, TaskState, utcnow

# Most tasks are done; some failed, a few were cancelled. None is queued, so
# that the workers stay idle while the listing is measured.
ERROR_EVERY = 25
CANCELLED_EVERY = 100


def fill(data_dir: Path, count: int, png: Path, jpeg: Path) -> list[str]:
    """Write `count` tasks, one second apart, newest last; their filenames."""
    rows = [_row(number, count) for number in range(count)]
    engine = create_engine(f"sqlite:///{data_dir / 'tasks.sqlite3'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as db:
        db.execute(insert(Task), rows)
        db.commit()
    engine.dispose()
    _link_files(data_dir, rows, png, jpeg)
    return [row["filename"] for row in rows]


def _row(number: int, count: int) -> dict[str, Any]:
    state = _state(number)
    created = utcnow() - timedelta(seconds=count - number)
    return {
        "id": f"{number:032x}",
        "filename": f"photo-{number:05d}.png",
        "state": state,
        "error": "the image data is damaged" if state == TaskState.ERROR else None,
        "created_at": created,
        "queued_at": created,
        "started_at": created,
        "finished_at": created + timedelta(seconds=0.5),
        "revision": number + 1,
        "source_bytes": 400_000,
        "result_bytes": 60_000 if state == TaskState.COMPLETE else None,
        "width": 640,
        "height": 480,
    }


def _state(number: int) -> TaskState:
    if number % CANCELLED_EVERY == 1:
        return TaskState.CANCELLED
    if number % ERROR_EVERY == 2:
        return TaskState.ERROR
    return TaskState.COMPLETE


def _link_files(
    data_dir: Path, rows: list[dict[str, Any]], png: Path, jpeg: Path
) -> None:
    # Hard links give every task its files without 10,000 copies.
    uploads, results = data_dir / "uploads", data_dir / "results"
    uploads.mkdir(exist_ok=True)
    results.mkdir(exist_ok=True)
    for row in rows:
        os.link(png, uploads / f"{row['id']}.png")
        if row["state"] == TaskState.COMPLETE:
            os.link(jpeg, results / f"{row['id']}.jpg")
