"""Claiming and recovery against real SQLite files, in this process."""

import os
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import delete

from jobs import huey
from jobs.queue import prepare_queue
from jobs.recovery import enqueue_missing, owner_is_dead, recover_stale
from models import Task, TaskState, store
from models.database import init_db, session
from models.task import utcnow

DEAD_OWNER = f"{socket.gethostname()}:{2**22 + 12345}"
LIVE_OWNER = f"{socket.gethostname()}:{os.getpid()}"


@pytest.fixture(name="empty_queue", autouse=True)
def fixture_empty_queue() -> Iterator[None]:
    prepare_queue()
    init_db()
    huey.flush()
    with session() as db:
        db.exec(delete(Task))
        db.commit()
    yield
    huey.flush()


def add(state: TaskState = TaskState.QUEUED, **fields: Any) -> Task:
    return store.add_task(Task(filename="a.png", state=state, **fields))


def state_of(task: Task) -> TaskState:
    found = store.get_task(task.id)
    assert found is not None
    return found.state


def pending_ids() -> list[str]:
    return [message.args[0] for message in huey.pending()]


def test_claim_takes_at_most_max_running_slots() -> None:
    tasks = [add() for _ in range(5)]

    outcomes = [store.claim(task.id, LIVE_OWNER, max_running=3) for task in tasks]

    assert outcomes.count(store.Claim.CLAIMED) == 3
    assert outcomes.count(store.Claim.NO_SLOT) == 2
    assert store.count_by_state()[TaskState.RUNNING] == 3


def test_concurrent_claims_never_exceed_the_cap() -> None:
    tasks = [add() for _ in range(24)]
    outcomes: list[store.Claim] = []

    def claim(task: Task) -> None:
        outcomes.append(store.claim(task.id, LIVE_OWNER, max_running=3))

    threads = [threading.Thread(target=claim, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count(store.Claim.CLAIMED) == 3
    assert store.count_by_state()[TaskState.RUNNING] == 3


def test_claim_drops_a_task_that_is_no_longer_queued() -> None:
    task = add(TaskState.CANCELLED)

    assert store.claim(task.id, LIVE_OWNER, max_running=3) is store.Claim.NOT_QUEUED


def test_task_of_a_dead_process_goes_back_in_line_once() -> None:
    task = add(TaskState.RUNNING, owner=DEAD_OWNER, heartbeat_at=utcnow())

    first = recover_stale()
    revision = store.version()[0]
    second = recover_stale()

    assert first == [task.id]
    assert second == []
    recovered = store.get_task(task.id)
    assert recovered is not None
    assert (recovered.state, recovered.attempts) == (TaskState.QUEUED, 2)
    assert store.version()[0] == revision
    assert pending_ids() == [task.id]


def test_live_worker_with_fresh_heartbeat_is_left_alone() -> None:
    task = add(TaskState.RUNNING, owner=LIVE_OWNER, heartbeat_at=utcnow())

    assert recover_stale() == []
    assert state_of(task) == TaskState.RUNNING


def test_silent_worker_elsewhere_is_taken_over_after_the_timeout() -> None:
    stale = utcnow() - timedelta(minutes=5)
    task = add(TaskState.RUNNING, owner="other-host:1", heartbeat_at=stale)

    released = store.recover_stale(timedelta(seconds=10), owner_is_dead)

    assert released == {task.id: TaskState.QUEUED}


def test_interrupted_task_that_was_being_cancelled_ends_cancelled() -> None:
    task = add(
        TaskState.RUNNING,
        owner=DEAD_OWNER,
        heartbeat_at=utcnow(),
        cancel_requested=True,
    )

    recover_stale()

    assert state_of(task) == TaskState.CANCELLED
    assert pending_ids() == []


def test_queued_task_without_message_is_enqueued_once() -> None:
    task = add()

    assert enqueue_missing() == [task.id]
    assert enqueue_missing() == []
    assert pending_ids() == [task.id]


@pytest.mark.parametrize(
    ("owner", "dead"),
    [
        (DEAD_OWNER, True),
        (LIVE_OWNER, False),
        ("another-host:1", False),
        ("garbage", False),
    ],
)
def test_owner_is_dead_only_for_gone_processes_of_this_host(
    owner: str, dead: bool
) -> None:
    assert owner_is_dead(owner) is dead


def test_deleting_the_latest_task_and_adding_one_still_changes_the_version() -> None:
    add()
    latest = add()
    before = store.version()

    store.discard(latest.id)
    add()

    after = store.version()
    assert after[1] == before[1]
    assert after[0] > before[0]
