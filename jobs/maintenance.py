"""The background round of a worker process: heartbeat, recovery, retention."""

import logging
import threading
import time
from datetime import timedelta

from jobs.queue import STOPPING
from jobs.recovery import enqueue_missing, recover_stale
from jobs.worker import owner_id
from models import store
from models.task import utcnow
from settings import get_settings

logger = logging.getLogger("imageconv." + __name__)

# Reading every pending message costs more than the stale check; do it less.
MESSAGE_CHECK_EVERY_S = 15.0
RETENTION_CHECK_EVERY_S = 60.0

_lock = threading.Lock()
_thread: list[threading.Thread] = []


def start_maintenance() -> None:
    """Start this process's maintenance thread, once."""
    with _lock:
        if _thread and _thread[0].is_alive():
            return
        thread = threading.Thread(target=_maintain, name="imageconv-maintenance")
        thread.daemon = True
        _thread[:] = [thread]
        thread.start()


def purge_expired() -> list[str]:
    """Delete finished tasks older than the retention period, files and all."""
    days = get_settings().retention_days
    if days is None:
        return []
    expired = store.finished_before(utcnow() - timedelta(days=days))
    for task_id in expired:
        store.discard(task_id)
    if expired:
        logger.info("deleted %d finished tasks older than %g days", len(expired), days)
    return expired


class _Every:
    """Due once every `seconds`, starting now."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.next = time.monotonic()

    def due(self) -> bool:
        if time.monotonic() < self.next:
            return False
        self.next = time.monotonic() + self.seconds
        return True


def _maintain() -> None:
    interval = get_settings().heartbeat_interval
    messages = _Every(MESSAGE_CHECK_EVERY_S)
    retention = _Every(RETENTION_CHECK_EVERY_S)
    while not STOPPING.is_set():
        try:
            store.beat(owner_id())
            recover_stale()
            if messages.due():
                enqueue_missing()
            if retention.due():
                purge_expired()
        except Exception:
            logger.exception("maintenance round failed; trying again")
        STOPPING.wait(interval)
