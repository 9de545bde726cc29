"""How each task state looks on the page: its word, icon and colour."""

from dataclasses import dataclass

from models import TaskState


@dataclass(frozen=True)
class Look:
    label: str
    icon: str
    color: str


LOOKS = {
    TaskState.QUEUED: Look("Queued", "schedule", "blue-grey-6"),
    TaskState.RUNNING: Look("Running", "autorenew", "primary"),
    TaskState.COMPLETE: Look("Complete", "check_circle", "positive"),
    TaskState.ERROR: Look("Failed", "error", "negative"),
    TaskState.CANCELLED: Look("Cancelled", "block", "orange-9"),
}
