"""The huey instance, and the consumer its worker processes run."""

import sqlite3
import threading
from typing import Any

from huey import SqliteHuey
from huey.consumer import Consumer
from huey.storage import SqliteStorage

from models.database import init_db
from models.files import make_dirs
from settings import get_settings

# Set when the consumer of this process stops: running conversions then go
# back in line instead of holding the shutdown up.
STOPPING = threading.Event()


# Running conversions see STOPPING within a tenth of a second, or after the
# Pillow step they are in; past this, whatever still runs is left to recovery.
STOP_TIMEOUT_S = 5.0


class QueueConsumer(Consumer):  # type: ignore[misc]
    def stop(self, graceful: bool = False) -> None:
        """Stop, putting running tasks back in line, however it was asked to."""
        STOPPING.set()
        asked: float | None = getattr(self, "shutdown_timeout", None)
        self.shutdown_timeout = min(asked or STOP_TIMEOUT_S, STOP_TIMEOUT_S)
        super().stop(graceful=True)


class QueueStorage(SqliteStorage):  # type: ignore[misc]
    def _create_connection(self) -> sqlite3.Connection:
        # huey leaves SQLite's default, FULL, which waits for the disk at
        # every commit: three times per task (enqueue, dequeue, revoke key).
        # In WAL mode NORMAL survives any process dying; a message lost to a
        # power cut is sent again by recovery, from the task table.
        connection: sqlite3.Connection = super()._create_connection()
        connection.execute("pragma synchronous=NORMAL")
        return connection


class ImageconvHuey(SqliteHuey):  # type: ignore[misc]
    storage_class = QueueStorage

    def create_consumer(self, **options: Any) -> Consumer:
        """Build a consumer that notices new work within the poll interval."""
        poll = get_settings().poll_interval
        options["initial_delay"] = min(options.get("initial_delay", poll), poll)
        # huey backs off to 10 s between polls of an idle queue by default;
        # a person dropping a file should not wait for that.
        options["max_delay"] = min(options.get("max_delay", poll), poll)
        options.setdefault("periodic", False)
        prepare_queue()
        init_db()
        return QueueConsumer(self, **options)


def _create_huey() -> ImageconvHuey:
    settings = get_settings()
    # No tables at import: SqliteStorage would create the file right away.
    return ImageconvHuey(
        "imageconv",
        filename=str(settings.queue_path),
        results=False,
        create_tables=False,
    )


huey = _create_huey()


def prepare_queue() -> None:
    """Create the data directories and the queue's tables if they are missing."""
    make_dirs()
    huey.storage.initialize_schema()
