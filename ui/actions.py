"""What the page's buttons do to tasks: the same calls the JSON API makes."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import HTTPException

from models import TaskState, store
from ui import api
from ui.thumbs import remove_thumb

logger = logging.getLogger("imageconv." + __name__)

CLEAR_BATCH = 500


@dataclass(frozen=True)
class Outcome:
    done: int
    skipped: int

    def describe(self, verb: str) -> str:
        text = f"{verb} {_tasks(self.done)}"
        if self.skipped:
            text += f"; {self.skipped} left as they were"
        return text


def _tasks(count: int) -> str:
    return f"{count} task" if count == 1 else f"{count} tasks"


def cancel(task_id: str) -> bool:
    return _attempt(api.cancel_task, task_id)


def retry(task_id: str) -> bool:
    return _attempt(api.retry_task, task_id)


def delete(task_id: str) -> bool:
    deleted = _attempt(api.delete_task, task_id)
    remove_thumb(task_id)
    return deleted


def _attempt(action: Callable[[str], object], task_id: str) -> bool:
    try:
        action(task_id)
    except HTTPException as exc:
        # Another tab or a worker got there first: nothing to undo.
        logger.debug("task %s: %s", task_id, exc.detail)
        return False
    return True


def apply(action: Callable[[str], bool], task_ids: Iterable[str]) -> Outcome:
    """Run `action` on each task; count those it applied to."""
    results = [action(task_id) for task_id in task_ids]
    return Outcome(done=sum(results), skipped=len(results) - sum(results))


def clear_finished() -> Outcome:
    """Delete every complete task, with its files."""
    total = Outcome(0, 0)
    while page := store.list_tasks(TaskState.COMPLETE, limit=CLEAR_BATCH).tasks:
        outcome = apply(delete, (task.id for task in page))
        total = Outcome(total.done + outcome.done, total.skipped + outcome.skipped)
        if not outcome.done:
            break
    logger.info("cleared %d complete tasks", total.done)
    return total
