"""The rows the benchmark prints, and the table they make."""

from dataclasses import dataclass

COLUMNS = ("figure", "ours", "baseline", "ratio", "target", "pass")


@dataclass(frozen=True)
class Row:
    figure: str
    ours: str
    baseline: str = "-"
    ratio: float | None = None
    target: str = "reported"
    passed: bool | None = None

    def cells(self) -> tuple[str, ...]:
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}"
        verdict = {True: "yes", False: "**no**", None: "-"}[self.passed]
        return (self.figure, self.ours, self.baseline, ratio, self.target, verdict)


def at_most(limit: float, value: float) -> bool:
    return value <= limit


def at_least(limit: float, value: float) -> bool:
    return value >= limit


def render(rows: list[Row]) -> str:
    """Lay the rows out as a Markdown table, columns padded to line up."""
    lines = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[n]) for line in lines) for n in range(len(COLUMNS))]
    text = [_line(lines[0], widths), _line(tuple("-" * w for w in widths), widths)]
    text += [_line(line, widths) for line in lines[1:]]
    return "\n".join(text)


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
    return "| " + " | ".join(padded) + " |"


def seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def megabytes(value: float) -> str:
    return f"{value:.0f} MB"


def split_megabytes(web: float, workers: float) -> str:
    """Memory of a server and its worker processes, as one figure and its parts."""
    return f"{megabytes(web + workers)} (web {web:.0f} + workers {workers:.0f})"
