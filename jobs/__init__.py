"""The work queue: the huey instance, the conversion task and recovery."""

from jobs.queue import huey
from jobs.recovery import start_maintenance
from jobs.worker import enqueue

__all__ = ["enqueue", "huey"]


@huey.on_startup()
def _start_worker_process() -> None:
    start_maintenance()
