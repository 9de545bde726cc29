"""Convert one image in this fresh process and print its peak memory as JSON.

`python -m bench.peak ours|bare SOURCE DEST` prints {"start": KB, "peak": KB}:
resident memory once everything is imported, and its high-water mark once
the conversion is done. Their difference is what converting took.
"""

import json
import sys
from pathlib import Path

from bench import bare
from bench.speed import ours

STATUS = Path("/proc/self/status")


def status_kb(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in {STATUS}")


def reset_high_water() -> None:
    # Linux: writing 5 to clear_refs sets VmHWM back to the current VmRSS,
    # so that the imports' passing peaks do not hide a small conversion's.
    Path("/proc/self/clear_refs").write_text("5")


def main(argv: list[str]) -> int:
    side, source, dest = argv
    convert = ours() if side == "ours" else bare.convert
    reset_high_water()
    start = status_kb("VmRSS")
    convert(Path(source), Path(dest))
    print(json.dumps({"start": start, "peak": status_kb("VmHWM")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
