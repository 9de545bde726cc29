"""Task records: the table, the engine and every state change."""

from models.task import FINISHED_STATES, Task, TaskState

__all__ = ["FINISHED_STATES", "Task", "TaskState"]
