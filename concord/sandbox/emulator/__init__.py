"""A local emulator of the part of Discord's API a slash-command bot uses (REST + gateway).

The real, unmodified discord.py client connects to it through ``DISCORD_API_BASE`` and
``DISCORD_GATEWAY_URL``; see :class:`Emulator`.
"""

from concord.sandbox.emulator.errors import ApiError, FormErrors
from concord.sandbox.emulator.interactions import InteractionRecord
from concord.sandbox.emulator.ratelimit import Limit, RateLimits
from concord.sandbox.emulator.server import (
    DEFAULT_TOKEN,
    Emulator,
    Fault,
    ManualMonotonic,
    RecordedRequest,
)

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "Emulator",
    "Fault",
    "FormErrors",
    "InteractionRecord",
    "Limit",
    "ManualMonotonic",
    "RateLimits",
    "RecordedRequest",
]
