"""The two ways a sandbox action fails (both AssertionErrors, so a test fails with the reason)."""

from __future__ import annotations


class SandboxError(AssertionError):
    """The bot or the emulator did something a test must not accept."""


class UsageError(AssertionError):
    """The test asked for something a member could not do in the Discord client."""
