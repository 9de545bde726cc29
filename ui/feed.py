"""Watch the task table once per process and tell every open page what changed.

One loop polls the table's fingerprint; only when it moves does it read the
rows changed since the last look. Counts per state and each queued task's
place in line are kept up to date from those rows alone, so a refresh costs
what changed, not how many tasks there are. Deletions leave no changed row
behind; a count that disagrees with what is known triggers a light re-read
of ids, states and revisions.
"""

import asyncio
import bisect
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from nicegui import background_tasks
from sqlalchemy.exc import SQLAlchemyError

from models import FINISHED_STATES, Task, TaskState, store

logger = logging.getLogger("imageconv." + __name__)

POLL_INTERVAL_S = 0.25

Listener = Callable[["Change"], None]


@dataclass(frozen=True)
class _Known:
    state: TaskState
    queued_at: float
    revision: int


@dataclass(frozen=True)
class Change:
    """What moved between two looks at the table."""

    tasks: tuple[Task, ...] = ()
    added: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    finished: tuple[Task, ...] = ()
    line_moved: bool = False


@dataclass
class _Draft:
    tasks: list[Task] = field(default_factory=list)
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    finished: list[Task] = field(default_factory=list)
    line_moved: bool = False

    def freeze(self) -> Change:
        return Change(
            tuple(self.tasks),
            frozenset(self.added),
            frozenset(self.removed),
            tuple(self.finished),
            self.line_moved,
        )


class QueueLine:
    """Queued tasks in the order the workers take them: oldest queued_at first."""

    def __init__(self) -> None:
        self._keys: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, task_id: str, queued_at: float) -> None:
        bisect.insort(self._keys, (queued_at, task_id))

    def remove(self, task_id: str, queued_at: float) -> None:
        index = bisect.bisect_left(self._keys, (queued_at, task_id))
        if index < len(self._keys) and self._keys[index] == (queued_at, task_id):
            del self._keys[index]

    def place(self, task_id: str, queued_at: float) -> int:
        return bisect.bisect_left(self._keys, (queued_at, task_id)) + 1


class TaskFeed:
    def __init__(self, interval: float = POLL_INTERVAL_S) -> None:
        self.interval = interval
        self.fingerprint = (-1, -1)
        self.counts = dict.fromkeys(TaskState, 0)
        self.line = QueueLine()
        self._known: dict[str, _Known] = {}
        self._listeners: list[Listener] = []
        self._poked = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._poked = asyncio.Event()
        self._loop = background_tasks.create(self._watch(), name="task feed")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every change; returns the way to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def poke(self) -> None:
        """Look again now rather than at the next tick (after an action here)."""
        self._poked.set()

    def place(self, task_id: str) -> int | None:
        known = self._known.get(task_id)
        if known is None or known.state != TaskState.QUEUED:
            return None
        return self.line.place(task_id, known.queued_at)

    async def _watch(self) -> None:
        failing = False
        while True:
            try:
                await self.refresh()
                failing = False
            except SQLAlchemyError as exc:
                if not failing:
                    logger.warning("cannot read the task table: %s", exc)
                failing = True
            except Exception:
                # The loop every open page depends on: log and keep watching.
                logger.exception("task feed: unexpected failure")
            await self._pause()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._poked.wait(), self.interval)
        self._poked.clear()

    async def refresh(self) -> None:
        """Read what changed since the last look and tell the listeners."""
        fingerprint = await asyncio.to_thread(store.version)
        if fingerprint == self.fingerprint:
            return
        if self.fingerprint[0] < 0:
            await self._first_look()
            self.fingerprint = fingerprint
            self._tell(Change(line_moved=True))
            return
        changed = await asyncio.to_thread(store.changed_since, self.fingerprint[0])
        draft = _Draft()
        self._apply(changed, draft)
        if len(self._known) != fingerprint[1]:
            await self._resync(draft)
        # The latest revision can go down when its task is deleted; follow the
        # table, so that changes numbered from there on are not missed.
        self.fingerprint = fingerprint
        self._tell(draft.freeze())

    async def _first_look(self) -> None:
        # Every task is there to learn, none of it news to a page; the state
        # and place of each is all that is kept, so read no more than that.
        for task_id, state, queued_at, revision in await asyncio.to_thread(
            store.all_states
        ):
            self._remember(task_id, state, queued_at, revision, _Draft())

    def _apply(self, tasks: Iterable[Task], draft: _Draft) -> None:
        for task in tasks:
            before = self._known.get(task.id)
            self._remember(task.id, task.state, task.queued_at, task.revision, draft)
            draft.tasks.append(task)
            if before is None:
                draft.added.add(task.id)
            # A quick task can be made and finish between two looks.
            if _finishes(before.state if before else None, task.state):
                draft.finished.append(task)

    def _remember(
        self,
        task_id: str,
        state: TaskState,
        queued_at: datetime | None,
        revision: int,
        draft: _Draft,
    ) -> None:
        self._forget(task_id, draft)
        known = _Known(TaskState(state), _seconds(queued_at), revision)
        self._known[task_id] = known
        self.counts[known.state] += 1
        if known.state == TaskState.QUEUED:
            self.line.add(task_id, known.queued_at)
            draft.line_moved = True

    def _forget(self, task_id: str, draft: _Draft) -> None:
        known = self._known.pop(task_id, None)
        if known is None:
            return
        self.counts[known.state] -= 1
        if known.state == TaskState.QUEUED:
            self.line.remove(task_id, known.queued_at)
            draft.line_moved = True

    async def _resync(self, draft: _Draft) -> None:
        rows = await asyncio.to_thread(store.all_states)
        present = {row[0] for row in rows}
        for task_id in set(self._known) - present:
            self._forget(task_id, draft)
            draft.removed.add(task_id)
        stale = [row[0] for row in rows if self._is_stale(row[0], row[3])]
        self._apply(await asyncio.to_thread(store.get_tasks, stale), draft)

    def _is_stale(self, task_id: str, revision: int) -> bool:
        known = self._known.get(task_id)
        return known is None or known.revision != revision

    def _tell(self, change: Change) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                logger.exception("a page failed to take a task change")


def _seconds(moment: datetime | None) -> float:
    # Ordering keys as numbers: no mixing of aware and naive times can break them.
    return 0.0 if moment is None else moment.timestamp()


def _finishes(before: TaskState | None, after: TaskState) -> bool:
    return before not in FINISHED_STATES and after in FINISHED_STATES
