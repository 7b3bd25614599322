"""Errors that carry a message meant for the user (shown ephemerally, nothing logged)."""


class UserError(Exception):
    """Bad input or a refused action: ``str(error)`` is shown to the user as it is."""


class PermissionDenied(UserError):
    """The acting member may not do this."""


class NotFound(UserError):
    """The thing the user named does not exist (in this guild)."""


class ExitError(Exception):
    """A clean failure of a CLI command: print the one-line message and exit with ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code
