"""The work queue: the huey instance, the conversion task and recovery."""

from jobs.maintenance import start_maintenance
from jobs.queue import huey
from jobs.worker import enqueue
from settings import configure_logging, get_settings

__all__ = ["enqueue", "huey"]


@huey.on_startup()
def _start_worker_process() -> None:
    # Under `huey_consumer` nothing else sets up the program's own log lines.
    configure_logging(get_settings())
    start_maintenance()
