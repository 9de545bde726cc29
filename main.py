"""Start imageconv: settings, logging, database, the page, and the workers."""

import argparse
import contextlib
import logging
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from settings import Settings, SettingsError, configure, configure_logging

logger = logging.getLogger("imageconv.main")

# How long shutdown waits for running conversions to go back in line.
SHUTDOWN_TIMEOUT_S = 5.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="Convert PNG files to JPEG through a durable local queue.",
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument("--data-dir", type=Path, help="where tasks and files live")
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="serve the page only; run `huey_consumer jobs.huey -w 3` beside it",
    )
    parser.add_argument(
        "--native", action="store_true", help="open the page in a desktop window"
    )
    return parser.parse_args(argv)


def serve(settings: Settings, *, worker: bool, native: bool) -> None:
    # Imported here so that the settings above are in force when the queue
    # and the database are first set up.
    from nicegui import app
    from nicegui import ui as nicegui_ui

    from jobs.queue import prepare_queue
    from jobs.runner import WorkerProcess
    from models import store
    from models.database import init_db
    from models.files import remove_orphans, remove_unfinished_uploads
    from ui.access import TokenGate
    from ui.api import router, uploads
    from ui.bypass import route_uploads_first
    from ui.page import add_pages

    app.include_router(router)
    add_pages()
    if settings.access_token is not None:
        app.add_middleware(TokenGate, token=settings.access_token)
    route_uploads_first(app, uploads, settings.access_token)
    workers: list[WorkerProcess] = []

    def start() -> None:
        prepare_queue()
        init_db()
        if removed := remove_unfinished_uploads():
            logger.warning("removed %d unfinished uploads of an earlier run", removed)
        if removed := remove_orphans(store.all_ids()):
            logger.warning("removed %d files of tasks that do not exist", removed)
        if worker:
            workers.append(WorkerProcess(settings))
            workers[0].start()
        logger.info(
            "imageconv at http://%s:%d (data in %s, %s)",
            settings.host,
            settings.port,
            settings.data_dir.resolve(),
            f"{settings.workers} workers" if worker else "no workers",
        )

    def stop() -> None:
        started = time.monotonic()
        for process in workers:
            process.stop(SHUTDOWN_TIMEOUT_S)
        logger.info("imageconv stopped in %.2fs", time.monotonic() - started)

    app.on_startup(start)
    app.on_shutdown(stop)
    nicegui_ui.run(
        host=settings.host,
        port=settings.port,
        title="imageconv",
        reload=False,
        show=False,
        native=native,
        show_welcome_message=False,
        uvicorn_logging_level="warning",
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = configure(host=args.host, port=args.port, data_dir=args.data_dir)
    except SettingsError as exc:
        print(f"imageconv: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    logging.getLogger("huey").setLevel(logging.WARNING)
    # uvicorn raises SIGINT or SIGTERM again once its own shutdown is done;
    # by then everything has stopped cleanly, so it ends the program quietly.
    signal.signal(signal.SIGTERM, _stopped_by_signal)
    with contextlib.suppress(StoppedBySignal, KeyboardInterrupt):
        serve(settings, worker=not args.no_worker, native=args.native)
    return 0


class StoppedBySignal(Exception):
    """The web server has shut down after SIGINT or SIGTERM."""


def _stopped_by_signal(signum: int, frame: FrameType | None) -> None:
    raise StoppedBySignal(signum)


if __name__ == "__main__":
    # NiceGUI's `user` test fixture runs this file inside pytest, where
    # ui.run() returns at once: exit only to report a failure.
    if exit_code := main():
        sys.exit(exit_code)
