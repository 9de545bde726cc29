"""Every change of a task's state, each one conditional write."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Executable, Row
from sqlmodel import col, delete, func, select, update

from models import statements
from models.database import get_engine, session
from models.files import remove_task_files
from models.task import FINISHED_STATES, Task, TaskState, utcnow

QUEUED, RUNNING = TaskState.QUEUED, TaskState.RUNNING
COMPLETE, ERROR, CANCELLED = TaskState.COMPLETE, TaskState.ERROR, TaskState.CANCELLED


class Claim(Enum):
    CLAIMED = "claimed"
    NO_SLOT = "no slot"
    NOT_QUEUED = "not queued"


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Task]
    total: int


def _change(task_id: str, *where: ColumnElement[bool], **values: Any) -> bool:
    """Apply `values` to the task if every `where` holds; True if it did."""
    statement = (
        update(Task)
        .where(col(Task.id) == task_id, *where)
        .values(revision=statements.next_revision(), **values)
    )
    return _write(statement) > 0


# SQLite lets one writer in at a time; the others sleep and try again, a
# millisecond or more each time. Queueing this process's writers here hands
# the database over the moment it is free instead.
_writing = threading.Lock()


# A plain connection, not an ORM session: the statements here are single
# writes and reads that need none of its bookkeeping, which costs as much.
def _write(statement: Executable, **params: Any) -> int:
    """Run one write in its own transaction; the number of rows it changed."""
    with _writing, get_engine().begin() as connection:
        return connection.execute(statement, params).rowcount


def _write_returning(statement: Executable, **params: Any) -> Task | None:
    with _writing, get_engine().begin() as connection:
        row = connection.execute(statement, params).first()
    return None if row is None else _task(row)


def _read(statement: Executable, **params: Any) -> Row[Any] | None:
    with get_engine().connect() as connection:
        return connection.execute(statement, params).first()


def _task(row: Row[Any]) -> Task:
    # A row of this table needs no validation; building a Task without it
    # takes a tenth of the time, which counts once per task a worker claims.
    return Task.model_construct(**row._mapping)


def _is(state: TaskState) -> ColumnElement[bool]:
    return col(Task.state) == state


def _owned_by(owner: str) -> ColumnElement[bool]:
    return col(Task.owner) == owner


def add_task(task: Task) -> Task:
    """Insert `task` as the table's next revision; return it with that revision."""
    return add_tasks([task])[0]


def add_tasks(tasks: list[Task]) -> list[Task]:
    """Insert every task in one transaction, each as the next revision."""
    with _writing, get_engine().begin() as connection:
        for task in tasks:
            values = task.model_dump(exclude={"revision"})
            task.revision = connection.execute(statements.ADD, values).scalar_one()
    return tasks


def get_task(task_id: str) -> Task | None:
    row = _read(statements.GET, task_id=task_id)
    return None if row is None else _task(row)


def list_tasks(
    state: TaskState | None = None, limit: int = 100, offset: int = 0
) -> TaskPage:
    """Return a page of tasks, newest first, optionally only those in `state`."""
    where = [] if state is None else [_is(state)]
    newest_first = (col(Task.created_at).desc(), col(Task.id).desc())
    query = select(Task).where(*where).order_by(*newest_first)
    with session() as db:
        tasks = db.exec(query.limit(limit).offset(offset)).all()
        total = db.exec(select(func.count()).select_from(Task).where(*where)).one()
    return TaskPage(list(tasks), total)


def queue_positions() -> dict[str, int]:
    """Map each queued task to its place in line, 1 for the next to run."""
    query = select(Task.id).where(_is(QUEUED))
    query = query.order_by(col(Task.queued_at), col(Task.id))
    with session() as db:
        return {task_id: place for place, task_id in enumerate(db.exec(query), 1)}


def places_in_line(tasks: list[Task]) -> dict[str, int]:
    """Map those of `tasks` still queued to their place in line.

    Reads only the line from the earliest of them on: new tasks are at its
    end, and the whole line may be thousands long.
    """
    queued = [task for task in tasks if task.state == QUEUED and task.queued_at]
    if not queued:
        return {}
    first = min(queued, key=lambda task: (task.queued_at, task.id))
    ahead = queue_position(first)
    assert ahead is not None
    wanted = {task.id for task in queued}
    with get_engine().connect() as connection:
        rows = connection.execute(
            statements.LINE_FROM, {"queued_at": first.queued_at, "task_id": first.id}
        )
        line = enumerate((row[0] for row in rows), ahead)
        return {task_id: place for place, task_id in line if task_id in wanted}


def queue_position(task: Task) -> int | None:
    if task.state != QUEUED or task.queued_at is None:
        return None
    row = _read(statements.AHEAD, queued_at=task.queued_at, task_id=task.id)
    return 1 if row is None else int(row[0]) + 1


def count_by_state() -> dict[TaskState, int]:
    counts = dict.fromkeys(TaskState, 0)
    query = select(Task.state, func.count()).group_by(col(Task.state))
    with session() as db:
        for state, count in db.exec(query):
            counts[TaskState(state)] = count
    return counts


def all_states() -> list[tuple[str, TaskState, datetime | None, int]]:
    """Every task's id, state, place-in-line time and revision: a light read."""
    query = select(Task.id, Task.state, Task.queued_at, Task.revision)
    with session() as db:
        return [tuple(row) for row in db.exec(query)]  # type: ignore[misc]


def get_tasks(task_ids: list[str]) -> list[Task]:
    """The tasks with these ids that still exist, oldest change first."""
    if not task_ids:
        return []
    query = select(Task).where(col(Task.id).in_(task_ids))
    with session() as db:
        return list(db.exec(query.order_by(col(Task.revision))))


def all_ids() -> set[str]:
    with session() as db:
        return set(db.exec(select(Task.id)))


def queued_ids() -> list[str]:
    with session() as db:
        return list(db.exec(select(Task.id).where(_is(QUEUED))))


def claim(task_id: str, owner: str, max_running: int) -> Claim:
    """Move a queued task to running if fewer than `max_running` tasks run."""
    return claim_task(task_id, owner, max_running)[0]


def claim_task(task_id: str, owner: str, max_running: int) -> tuple[Claim, Task | None]:
    """Claim as claim() does; the task as claimed, if it was."""
    claimed = _write_returning(
        statements.CLAIM,
        task_id=task_id,
        owner=owner,
        max_running=max_running,
        started_at=utcnow(),
    )
    if claimed is not None:
        return Claim.CLAIMED, claimed
    task = get_task(task_id)
    queued = task is not None and task.state == QUEUED
    return (Claim.NO_SLOT if queued else Claim.NOT_QUEUED), None


def beat(owner: str) -> int:
    """Refresh the heartbeat of every task `owner` runs; the count refreshed."""
    statement = (
        update(Task).where(_is(RUNNING), _owned_by(owner)).values(heartbeat_at=utcnow())
    )
    return _write(statement)


def cancel_requested(task_id: str, owner: str) -> bool:
    """True when the running task should stop: cancelled, deleted or taken over."""
    row = _read(statements.STOP_ASKED, task_id=task_id)
    return row is None or row.owner != owner or bool(row.cancel_requested)


def complete(task_id: str, owner: str, size: int, width: int, height: int) -> bool:
    changed = _write(
        statements.COMPLETE,
        task_id=task_id,
        current_owner=owner,
        finished_at=utcnow(),
        result_bytes=size,
        width=width,
        height=height,
    )
    return changed > 0


def fail(task_id: str, owner: str, message: str, detail: str) -> bool:
    return _change(
        task_id,
        _is(RUNNING),
        _owned_by(owner),
        state=ERROR,
        error=message,
        error_detail=detail,
        finished_at=utcnow(),
        owner=None,
    )


def stop_cancelled(task_id: str, owner: str) -> bool:
    return _change(
        task_id,
        _is(RUNNING),
        _owned_by(owner),
        state=CANCELLED,
        finished_at=utcnow(),
        owner=None,
    )


def requeue(task_id: str, owner: str) -> bool:
    """Put a running task back in line; its interrupted run counts as an attempt."""
    return _change(
        task_id,
        _is(RUNNING),
        _owned_by(owner),
        col(Task.cancel_requested).is_(False),
        **_back_in_line(),
    )


def _back_in_line() -> dict[str, Any]:
    return {
        "state": QUEUED,
        "queued_at": utcnow(),
        "attempts": col(Task.attempts) + 1,
        "owner": None,
        "started_at": None,
        "heartbeat_at": None,
        "finished_at": None,
        "cancel_requested": False,
        "error": None,
        "error_detail": None,
        "result_bytes": None,
    }


def cancel(task_id: str) -> bool:
    """Cancel a queued task now, or ask a running one to stop; False if neither."""
    now = utcnow()
    if _change(task_id, _is(QUEUED), state=CANCELLED, finished_at=now):
        return True
    return _change(task_id, _is(RUNNING), cancel_requested=True)


def retry(task_id: str) -> bool:
    """Put a failed or cancelled task back in line."""
    retryable = col(Task.state).in_([ERROR, CANCELLED])
    return _change(task_id, retryable, **_back_in_line())


def discard(task_id: str) -> bool:
    """Delete a task with its files; a running one is asked to stop first."""
    cancel(task_id)
    with _writing, get_engine().begin() as connection:
        connection.execute(statements.MARK_DELETION)
        deleted = connection.execute(delete(Task).where(col(Task.id) == task_id))
        if deleted.rowcount == 0:
            connection.rollback()
    remove_task_files(task_id)
    return deleted.rowcount > 0


def finished_before(cutoff: datetime) -> list[str]:
    query = select(Task.id).where(
        col(Task.state).in_(FINISHED_STATES), col(Task.finished_at) < cutoff
    )
    with session() as db:
        return list(db.exec(query))


def recover_stale(
    timeout: timedelta, owner_is_dead: Callable[[str], bool]
) -> dict[str, TaskState]:
    """Release running tasks whose worker is gone; map each to its new state.

    A task is put back in line, or ends cancelled if a cancel was pending.
    """
    cutoff = utcnow() - timeout
    with session() as db:
        running = db.exec(select(Task).where(_is(RUNNING))).all()
    released = {}
    for task in running:
        if _heartbeat_older(task, cutoff) or owner_is_dead(task.owner or ""):
            state = _release(task)
            if state is not None:
                released[task.id] = state
    return released


def _heartbeat_older(task: Task, cutoff: datetime) -> bool:
    return task.heartbeat_at is None or task.heartbeat_at < cutoff


def _release(task: Task) -> TaskState | None:
    unchanged = (
        _is(RUNNING),
        col(Task.owner) == task.owner,
        col(Task.heartbeat_at).is_not_distinct_from(task.heartbeat_at),
    )
    if task.cancel_requested:
        done = _change(task.id, *unchanged, state=CANCELLED, finished_at=utcnow())
        return CANCELLED if done else None
    return QUEUED if _change(task.id, *unchanged, **_back_in_line()) else None


def version() -> tuple[int, int]:
    """A cheap fingerprint of the table: (latest revision, number of tasks)."""
    count = select(func.count()).select_from(Task).scalar_subquery()
    row = _read(select(statements.latest_revision(), count))
    assert row is not None
    revision, count = tuple(row)
    return int(revision), int(count)


def changed_since(revision: int) -> list[Task]:
    """Tasks changed after `revision`, oldest change first."""
    query = select(Task).where(col(Task.revision) > revision)
    with session() as db:
        return list(db.exec(query.order_by(col(Task.revision))).all())


def stored_bytes() -> int:
    """Bytes of the uploaded PNGs and their JPEGs, as the table records them."""
    total = func.sum(Task.source_bytes) + func.sum(func.coalesce(Task.result_bytes, 0))
    row = _read(select(func.coalesce(total, 0)))
    return 0 if row is None else int(row[0])
