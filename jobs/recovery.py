"""Bring interrupted work back: stale running tasks and lost messages."""

import logging
import os
import socket
from datetime import timedelta
from pathlib import Path

from jobs.queue import huey
from jobs.worker import enqueue
from models import TaskState, store
from models.files import remove, result_path, temp_results
from settings import get_settings

logger = logging.getLogger("imageconv." + __name__)

QUEUED = TaskState.QUEUED


def owner_is_dead(owner: str) -> bool:
    """True when `owner` names a process of this host that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    # A killed child that its parent has not reaped yet still answers kill(0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def recover_stale() -> list[str]:
    """Put running tasks whose worker is gone back in line; the ids requeued."""
    timeout = timedelta(seconds=get_settings().heartbeat_timeout)
    released = store.recover_stale(timeout, owner_is_dead)
    for task_id in released:
        # The dead worker may have left a partial JPEG, or a whole one it had
        # not yet recorded: neither may outlive its run.
        for leftover in [*temp_results(task_id), result_path(task_id)]:
            remove(leftover)
    requeued = [task_id for task_id, state in released.items() if state == QUEUED]
    for task_id in requeued:
        logger.warning("task %s was interrupted; back in line", task_id)
        enqueue(task_id)
    for task_id in released.keys() - set(requeued):
        logger.info("task %s was interrupted while cancelling; cancelled", task_id)
    return requeued


def enqueue_missing() -> list[str]:
    """Enqueue every queued task that has no message waiting for it."""
    waiting = {_task_id(message) for message in huey.pending()}
    waiting |= {_task_id(message) for message in huey.scheduled()}
    missing = [task_id for task_id in store.queued_ids() if task_id not in waiting]
    for task_id in missing:
        logger.warning("task %s had no message in the queue; enqueued again", task_id)
        enqueue(task_id)
    return missing


def _task_id(message: object) -> str | None:
    args = getattr(message, "args", ())
    return args[0] if args else None


def recover() -> None:
    recover_stale()
    enqueue_missing()
