"""Discord's error responses: the JSON shapes and codes the real API answers with.

Discord reports a rejected request as ``{"code": N, "message": "..."}`` plus, for a bad body
(code 50035 "Invalid Form Body"), a tree of ``errors`` that mirrors the payload: every leaf is
``{"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "..."}]}`` and list indexes are
string keys. discord.py flattens that tree into ``HTTPException.text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# JSON error codes from Discord's documentation (topics/opcodes-and-status-codes).
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_APPLICATION_COMMAND = 10063
UNKNOWN_INTERACTION = 10062
UNKNOWN_ROLE = 10011
CANNOT_EDIT_OTHERS_MESSAGE = 50005
EMPTY_MESSAGE = 50006
CANNOT_DM_USER = 50007
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
INVALID_WEBHOOK_TOKEN = 50027
INVALID_FORM_BODY = 50035
ALREADY_ACKNOWLEDGED = 40060
UNAUTHORIZED = 0


class ApiError(Exception):
    """An error response: HTTP status plus Discord's JSON body."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            payload["errors"] = self.errors
        return payload


def not_found(code: int, what: str) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


class FormErrors:
    """Collects every problem in one body, like Discord, which reports them all at once."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: Sequence[str | int], limit: int) -> None:
        self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length_between(self, path: Sequence[str | int], low: int, high: int) -> None:
        self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def required(self, path: Sequence[str | int]) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def bad_type(self, path: Sequence[str | int], expected: str) -> None:
        self.add(path, "BASE_TYPE_BAD_TYPE", f"Must be a {expected}.")

    def __bool__(self) -> bool:
        return bool(self.tree)

    def messages(self) -> list[str]:
        """Flat ``path: message`` lines (for test failures and logs)."""
        lines: list[str] = []

        def walk(node: dict[str, Any], prefix: str) -> None:
            for key, value in node.items():
                if key == "_errors":
                    lines.extend(f"{prefix or '(body)'}: {e['message']}" for e in value)
                else:
                    walk(value, f"{prefix}.{key}" if prefix else key)

        walk(self.tree, "")
        return lines

    def raise_if_any(self) -> None:
        if self.tree:
            raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", self.tree)
