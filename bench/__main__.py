"""`python -m bench`: measure imageconv's figures and print them as a table."""

import argparse
import os
import platform
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import PIL

from bench.plan import FULL, GROUPS, SMOKE
from bench.table import render

NOTES = """\
Ratios are ours / baseline. Convert rows: processor time, best of N
interleaved runs. Memory: what converting added to its process's peak.
Throughput: files per second from the first upload to the last JPEG (server
clock). Processor time per file: what the web server, the worker process and
this uploader spent per file during the throughput run, against bare
Pillow's conversion alone. "vs" rows: wall time against the converter run as
a command, process start included; below 1 means imageconv is faster."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    parser.add_argument(
        "--only",
        type=lambda text: tuple(text.split(",")),
        default=GROUPS,
        help=f"comma-separated groups to run, of: {','.join(GROUPS)}",
    )
    parser.add_argument(
        "--images",
        type=Path,
        default=Path(tempfile.gettempdir()) / "imageconv-bench-images",
        help="where the generated test images are kept between runs",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    unknown = set(args.only) - set(GROUPS)
    if unknown:
        print(f"unknown group(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="imageconv-bench-"))
    # Settings are read when the jobs package is first imported; keep this
    # process's own files away from the repository's data/.
    os.environ["IMAGECONV_DATA_DIR"] = str(work / "in-process")
    from bench.run import measure

    try:
        plan = SMOKE if args.smoke else FULL
        args.images.mkdir(parents=True, exist_ok=True)
        rows = measure(plan, args.only, args.images, work, _say)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(_preface(args))
    print(render(rows))
    print()
    print(NOTES)
    return 0


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def _preface(args: argparse.Namespace) -> str:
    command = "python -m bench" + (" --smoke" if args.smoke else "")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"`{command}` on {when}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Pillow {PIL.__version__}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
