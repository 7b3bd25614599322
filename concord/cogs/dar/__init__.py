"""The DAR module: commands and flows (``cog``), scheduled jobs (``jobs``), buttons and modals
(``views``), Discord rendering of the core layouts (``embeds``); ``MODULE`` declares it."""

from __future__ import annotations

from datetime import time
from typing import Any

from concord.cogs.dar.checkin_views import CheckinButton, EntryBlockerButton, SkipButton
from concord.cogs.dar.cog import Dar
from concord.cogs.dar.samples import sample
from concord.cogs.dar.views import BlockerTaskButton, SubmitDarButton
from concord.cogs.modkit import Fixtures, Job, Module
from concord.core.settings import Setting, channel_setting, time_setting
from concord.core.text import plural


def jobs(cog: Any) -> list[Job]:
    return cog.jobs.scheduled()


MODULE = Module(
    name="dar",
    cog=Dar,
    order=40,
    settings=(
        channel_setting(
            "reports_channel",
            "Reports channel",
            "Where DAR summaries and the manager digest are posted",
        ),
        time_setting(
            "dar_reminder", "DAR reminder", "Time of the daily report reminder, HH:MM", time(17)
        ),
        time_setting(
            "dar_summary", "DAR summary", "Time of the daily report summary, HH:MM", time(19)
        ),
        time_setting(
            "digest", "Manager digest", "Time of the morning manager digest, HH:MM", time(9)
        ),
        Setting(
            "dar_edit_days",
            "DAR edit window",
            "Working days a daily report stays editable (default 2)",
            "integer",
            field="dar_edit_days",
            show=lambda days: plural(days, "working day"),
            minimum=0,
            maximum=31,
        ),
    ),
    persistent=(
        SubmitDarButton,
        BlockerTaskButton,
        CheckinButton,
        SkipButton,
        EntryBlockerButton,
    ),
    jobs=jobs,
    fixtures=Fixtures(
        channels=(("reports", "Daily activity report summaries and the manager digest"),),
        setup={"reports_channel": "reports"},
        buttons=("dar:blocker:{id}",),
        dm_buttons=("dar:blocker:{id}",),
        id_table="dar_reports",
        sample=sample,
    ),
)

__all__ = ["MODULE", "Dar"]
