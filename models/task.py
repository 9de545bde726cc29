"""The Task table: one row per uploaded PNG, the truth about its conversion."""

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


class TaskState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETE = "complete"
    ERROR = "error"
    CANCELLED = "cancelled"


FINISHED_STATES = (TaskState.COMPLETE, TaskState.ERROR, TaskState.CANCELLED)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_task_id() -> str:
    return uuid.uuid4().hex


class Task(SQLModel, table=True):
    id: str = Field(default_factory=new_task_id, primary_key=True, max_length=32)
    filename: str
    state: TaskState = Field(default=TaskState.QUEUED, index=True)
    error: str | None = None
    error_detail: str | None = None

    created_at: datetime = Field(default_factory=utcnow, index=True)
    queued_at: datetime | None = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    owner: str | None = None
    cancel_requested: bool = False
    attempts: int = 1
    revision: int = Field(default=0, index=True)

    source_bytes: int = 0
    result_bytes: int | None = None
    width: int | None = None
    height: int | None = None

    quality: int = 85
    background: str = "#ffffff"
    progressive: bool = False
    keep_metadata: bool = True


class RevisionMark(SQLModel, table=True):
    """The revision the latest deletion took, so that revisions never go back.

    Without it, deleting the task with the highest revision would hand that
    number out again, and a watcher could take a deletion plus an addition
    for no change at all.
    """

    id: int = Field(default=1, primary_key=True)
    revision: int = 0
