"""Numbers as a person reads them on the page."""

from datetime import datetime

from models.task import utcnow

_UNITS = ("bytes", "kB", "MB", "GB", "TB")
_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


def size(count: int | None) -> str:
    """Bytes in units of 1024, as the upload limit is set: 2.4 MB."""
    if count is None:
        return "?"
    value = float(count)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    if unit == "bytes":
        return f"{count} bytes"
    return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"


def seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(value), 60)
    return f"{minutes} min {rest:02d} s"


def elapsed_since(moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    return max(0.0, (utcnow() - moment).total_seconds())


def ordinal(place: int) -> str:
    teen = place % 100 in (11, 12, 13)
    suffix = "th" if teen else _SUFFIXES.get(place % 10, "th")
    return f"{place:,}{suffix}"


def saving(before: int, after: int | None) -> str:
    """How much smaller (or larger) the JPEG is, as a signed percentage."""
    if not before or after is None:
        return ""
    change = round((after - before) * 100 / before)
    return f"{change:+d} %"


def count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"
