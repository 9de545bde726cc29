"""The statements every task runs, built once with named parameters.

Building a SQLAlchemy statement costs several times what SQLite takes to run
it, and the ORM adds as much again; a task's life is a handful of these, so
they are made once here and run on a plain connection. Parameters are named
after their columns; `task_id` picks the task.
"""

from typing import Any

from sqlalchemy import Update, bindparam, insert
from sqlmodel import col, func, select, update

from models.task import RevisionMark, Task, TaskState

COLUMNS = tuple(Task.__table__.columns)  # type: ignore[attr-defined]


def latest_revision() -> Any:
    """The highest revision handed out, to a task or to a deletion."""
    in_tasks = select(func.coalesce(func.max(Task.revision), 0)).scalar_subquery()
    deleted = select(RevisionMark.revision).where(col(RevisionMark.id) == 1)
    # SQLite's max() of two arguments is the larger one, not an aggregate.
    return func.max(in_tasks, func.coalesce(deleted.scalar_subquery(), 0))


def next_revision() -> Any:
    return latest_revision() + 1


def _this_task() -> Any:
    return col(Task.id) == bindparam("task_id")


def _running() -> Any:
    running = col(Task.state) == TaskState.RUNNING
    return select(func.count()).select_from(Task).where(running).scalar_subquery()


def _change(*where: Any) -> Update:
    """Update the task if every `where` holds, as the table's next revision."""
    return update(Task).where(_this_task(), *where).values(revision=next_revision())


ADD = insert(Task).values(revision=next_revision()).returning(col(Task.revision))

GET = select(*COLUMNS).where(_this_task())

STOP_ASKED = select(Task.owner, Task.cancel_requested).where(_this_task())

CLAIM = (
    _change(
        col(Task.state) == TaskState.QUEUED,
        _running() < bindparam("max_running"),
    )
    .values(
        state=TaskState.RUNNING,
        owner=bindparam("owner"),
        started_at=bindparam("started_at"),
        heartbeat_at=bindparam("started_at"),
        finished_at=None,
    )
    .returning(*COLUMNS)
)

COMPLETE = _change(
    col(Task.state) == TaskState.RUNNING,
    # Not "owner": the update sets that column, and so takes that name.
    col(Task.owner) == bindparam("current_owner"),
    col(Task.cancel_requested).is_(False),
).values(
    state=TaskState.COMPLETE,
    finished_at=bindparam("finished_at"),
    result_bytes=bindparam("result_bytes"),
    width=bindparam("width"),
    height=bindparam("height"),
    owner=None,
)

MARK_DELETION = (
    update(RevisionMark)
    .where(col(RevisionMark.id) == 1)
    .values(revision=next_revision())
)

AHEAD = (
    select(func.count())
    .select_from(Task)
    .where(
        col(Task.state) == TaskState.QUEUED,
        (col(Task.queued_at) < bindparam("queued_at"))
        | (
            (col(Task.queued_at) == bindparam("queued_at"))
            & (col(Task.id) < bindparam("task_id"))
        ),
    )
)

# The queued tasks from a task on (itself included), in their order in line.
LINE_FROM = (
    select(Task.id)
    .where(
        col(Task.state) == TaskState.QUEUED,
        (col(Task.queued_at) > bindparam("queued_at"))
        | (
            (col(Task.queued_at) == bindparam("queued_at"))
            & (col(Task.id) >= bindparam("task_id"))
        ),
    )
    .order_by(col(Task.queued_at), col(Task.id))
)
