"""Finished tasks are kept forever by default, or deleted after a period."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import delete

from jobs.maintenance import purge_expired
from models import Task, TaskState, store
from models.database import init_db, session
from models.files import make_dirs, result_path, source_path
from models.task import utcnow
from settings import configure, get_settings


@pytest.fixture(name="empty_table", autouse=True)
def fixture_empty_table() -> Iterator[None]:
    init_db()
    make_dirs()
    with session() as db:
        db.exec(delete(Task))
        db.commit()
    yield
    configure()


def finished(state: TaskState, days_ago: float) -> Task:
    task = store.add_task(
        Task(
            filename="old.png",
            state=state,
            finished_at=utcnow() - timedelta(days=days_ago),
        )
    )
    source_path(task.id).write_bytes(b"png")
    result_path(task.id).write_bytes(b"jpeg")
    return task


def test_finished_tasks_are_kept_forever_by_default() -> None:
    task = finished(TaskState.COMPLETE, days_ago=4000)

    assert get_settings().retention_days is None
    assert purge_expired() == []
    assert store.get_task(task.id) is not None


def test_tasks_finished_before_the_period_are_deleted_with_their_files() -> None:
    configure(retention_days=7)
    old = [
        finished(state, days_ago=8)
        for state in TaskState
        if state in (TaskState.COMPLETE, TaskState.ERROR, TaskState.CANCELLED)
    ]
    recent = finished(TaskState.COMPLETE, days_ago=6)
    waiting = store.add_task(Task(filename="queued.png"))

    deleted = purge_expired()

    assert sorted(deleted) == sorted(task.id for task in old)
    assert all(not source_path(task.id).exists() for task in old)
    assert all(not result_path(task.id).exists() for task in old)
    assert store.get_task(recent.id) is not None
    assert store.get_task(waiting.id) is not None
