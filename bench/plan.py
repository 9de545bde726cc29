"""What a run measures: the full sizes, or tiny ones for a smoke test."""

import math
from dataclasses import dataclass

Size = tuple[int, int]

GROUPS = ("convert", "memory", "throughput", "latency", "listing", "tools")


@dataclass(frozen=True)
class Plan:
    convert_sizes: tuple[Size, ...]
    # Runs per side for the smallest size; fewer as images grow.
    convert_repeat: int
    memory_size: Size
    small_batch: tuple[int, Size]
    large_batch: tuple[int, Size]
    idle_s: float
    idle_samples: int
    tasks: int
    list_requests: int
    page_loads: int
    tool_repeat: int
    rounds: int


FULL = Plan(
    convert_sizes=((640, 480), (1920, 1080), (4000, 3000), (8000, 6000)),
    convert_repeat=61,
    memory_size=(8000, 6000),
    small_batch=(1000, (256, 256)),
    large_batch=(50, (1920, 1080)),
    idle_s=30.0,
    idle_samples=8,
    tasks=10_000,
    list_requests=200,
    page_loads=5,
    tool_repeat=3,
    rounds=2,
)

SMOKE = Plan(
    convert_sizes=((64, 48), (160, 120)),
    convert_repeat=5,
    memory_size=(320, 240),
    small_batch=(12, (32, 32)),
    large_batch=(3, (160, 120)),
    idle_s=1.0,
    idle_samples=2,
    tasks=200,
    list_requests=10,
    page_loads=1,
    tool_repeat=1,
    rounds=1,
)


def repeats(plan: Plan, size: Size) -> int:
    """Runs per side: `convert_repeat` at 640x480, fewer for larger images."""
    scale = math.sqrt(size[0] * size[1] / (640 * 480))
    return max(7, min(plan.convert_repeat, round(plan.convert_repeat / scale)))
