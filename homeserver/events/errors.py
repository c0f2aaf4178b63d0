"""Exceptions raised by the event authorisation rules."""

__all__ = ["AuthError"]


class AuthError(Exception):
    """An event is not allowed by the authorisation rules; ``str()`` explains why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
