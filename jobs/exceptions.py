"""Errors the project raises on purpose, each meant to be shown to a person."""


class ConversionError(Exception):
    """An image that cannot be converted: `message` for a person, `detail` technical."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __reduce__(self) -> tuple[type["ConversionError"], tuple[str, str]]:
        # The queue pickles errors between processes; the default pickling
        # rebuilds from `args` alone and would lose `detail`.
        return type(self), (self.message, self.detail)
