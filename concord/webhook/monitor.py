"""What ``concord webhook`` watches: its own Prometheus metrics (deploys, deliveries), the alerts
only it can raise (a deploy rolled back or refused; the bot down or unhealthy, since a dead bot
cannot alert), and the bot's readiness as read from its health file.

The metrics live in a registry of the listener's own and are served on the listener's
``/metrics`` behind the webhook secret (see ``concord.webhook.app``). Alerts go through
:class:`concord.alerts.Alerter`, the same rate limit and messages as the bot's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from concord.alerts import Alerter, webhook_sender
from concord.clock import Clock
from concord.health import all_ready, bot_ready, pid_alive, read_health
from concord.webhook.deployer import DeployQueue, describe_health
from concord.webhook.history import (
    DEPLOYED,
    FAILED,
    REFUSED,
    ROLLBACK_FAILED,
    ROLLED_BACK,
    DeployHistory,
    DeployRecord,
)
from concord.webhook.settings import WebhookSettings

log: logging.Logger = logging.getLogger(__name__)

# A deploy takes seconds to minutes (a reinstall): buckets up to the restart timeout.
DEPLOY_BUCKETS: tuple[float, ...] = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
# The statuses that say whether the last deploy worked (skipped and superseded ones say nothing).
DECISIVE: frozenset[str] = frozenset({DEPLOYED, REFUSED, FAILED, ROLLED_BACK, ROLLBACK_FAILED})
DEPLOY_ALERT = "deploy"
BOT_ALERT = "bot_health"
# The "unhealthy for more than 5 minutes"; a process that is gone is "down" sooner,
# after a grace that covers a restart outside a deploy (systemd's Restart=on-failure).
UNHEALTHY_AFTER = timedelta(minutes=5)
DOWN_AFTER = timedelta(minutes=1)
WATCH_SECONDS = 30.0


# -- metrics --------------------------------------------------------------------------------------
class LastDeployCollector(Collector):
    """Whether the last decisive deploy worked and when it finished, read from the history at
    scrape time: true across restarts of the listener and for ``concord deploy now`` too."""

    def __init__(self, history: DeployHistory) -> None:
        self.history = history

    def collect(self) -> Iterable[Metric]:
        try:
            records = self.history.recent(50)
        except Exception:  # a scrape never fails because the history is busy or missing
            log.warning("could not read the deploy history for /metrics", exc_info=True)
            return []
        last = next((r for r in records if r.status in DECISIVE and r.finished_at), None)
        if last is None or last.finished_at is None:
            return []
        ok = GaugeMetricFamily(
            "concord_webhook_last_deploy_ok",
            "1 when the last deploy (deployed, refused, failed or rolled back) put its commit up.",
            labels=["status"],
        )
        ok.add_metric([last.status], 1.0 if last.status == DEPLOYED else 0.0)
        at = GaugeMetricFamily(
            "concord_webhook_last_deploy_timestamp_seconds",
            "When the last deploy finished (Unix time).",
        )
        at.add_metric([], last.finished_at.timestamp())
        return [ok, at]


class ListenerMetrics:
    """The listener's metrics, in a registry of its own (the bot's are served by the bot)."""

    def __init__(
        self, history: DeployHistory, health_file: Path | Sequence[Path], clock: Clock
    ) -> None:
        files = as_files(health_file)
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.deploys = Counter(
            "concord_webhook_deploys",
            "Deploys finished by this listener, by status (superseded pushes not counted).",
            ["status"],
            registry=r,
        )
        self.deploy_seconds = Histogram(
            "concord_webhook_deploy_seconds",
            "Duration of a finished deploy, from its fetch to its last step, by status.",
            ["status"],
            buckets=DEPLOY_BUCKETS,
            registry=r,
        )
        self.deploy_step_seconds = Histogram(
            "concord_webhook_deploy_step_seconds",
            "Duration of each deploy step (fetch, checkout, reinstall, restart, health...).",
            ["step"],
            buckets=DEPLOY_BUCKETS,
            registry=r,
        )
        self.deliveries = Counter(
            "concord_webhook_deliveries",
            "Signed deliveries acted on, by outcome (queued, ignored, pong).",
            ["outcome"],
            registry=r,
        )
        self.rejected = Counter(
            "concord_webhook_rejected_deliveries",
            "Deliveries refused or not acted on, by reason.",
            ["reason"],
            registry=r,
        )
        self.bot_ready = Gauge(
            "concord_webhook_bot_ready",
            "1 when the bot's health file shows it ready, alive and beating (the listener's view).",
            registry=r,
        )
        self.bot_ready.set_function(
            lambda: float(all_ready([read_health(path) for path in files], clock.now()))
        )
        r.register(LastDeployCollector(history))

    def deploy_finished(self, record: DeployRecord) -> None:
        self.deploys.labels(record.status).inc()
        total = record.durations.get("total")
        if total is not None:
            self.deploy_seconds.labels(record.status).observe(total)
        for step, seconds in record.durations.items():
            if step != "total":
                self.deploy_step_seconds.labels(step).observe(seconds)

    def delivery_rejected(self, reason: str) -> None:
        self.rejected.labels(reason).inc()

    def delivery_accepted(self, outcome: str) -> None:
        self.deliveries.labels(outcome).inc()


# -- alerts ---------------------------------------------------------------------------------------
_DEPLOY_TITLES: dict[str, str] = {
    ROLLED_BACK: "A deploy was rolled back",
    ROLLBACK_FAILED: "A deploy failed and so did its rollback: the bot may be down",
    REFUSED: "A deploy was refused",
}
DETAIL_LIMIT = 1500


class DeployAlerts:
    """Fires when a deploy is rolled back or refused; resolves at the next good deploy."""

    def __init__(self, alerter: Alerter, clock: Clock) -> None:
        self.alerter = alerter
        self.clock = clock

    def deploy_finished(self, record: DeployRecord) -> None:
        now = self.clock.now()
        target = record.target_sha[:7]
        title = _DEPLOY_TITLES.get(record.status)
        if title is not None:
            detail = f"Deploy #{record.id} of `{target}` ({record.branch}): {record.status}."
            if record.detail:
                detail += f"\n{record.detail[:DETAIL_LIMIT]}"
            self.alerter.fire(DEPLOY_ALERT, title, detail, now)
        elif record.status == DEPLOYED:
            self.alerter.resolve(
                DEPLOY_ALERT, f"Deploy #{record.id} put `{target}` up and it is healthy.", now
            )


def _minutes(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} min" if minutes else f"{int(span.total_seconds())} s"


def as_files(health_file: Path | Sequence[Path]) -> list[Path]:
    return [health_file] if isinstance(health_file, Path) else list(health_file)


class BotWatcher:
    """Reads the bot's health file every ``interval`` seconds on a thread of its own and alerts
    when the bot is down (no live process) for over ``down_after``, or alive but not ready
    (or not beating) for over ``unhealthy_after``; resolved when it is ready again.

    A bot run as several shard processes has a health file each (``health_files``): it is ready
    when every one of them is, and the alert names the first one that is not.

    A deploy in progress restarts the bot and checks it itself, so no alert fires meanwhile.
    :meth:`check` is one look, called by the thread and directly by the tests (with a clock).
    """

    def __init__(
        self,
        alerter: Alerter,
        health_file: Path | Sequence[Path],
        *,
        clock: Clock,
        deploying: Callable[[], bool] = lambda: False,
        interval: float = WATCH_SECONDS,
        down_after: timedelta = DOWN_AFTER,
        unhealthy_after: timedelta = UNHEALTHY_AFTER,
    ) -> None:
        self.alerter = alerter
        self.health_files: list[Path] = as_files(health_file)
        self.clock = clock
        self.deploying = deploying
        self.interval = interval
        self.down_after = down_after
        self.unhealthy_after = unhealthy_after
        self.bad_since: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        now = self.clock.now()
        healths = [(path, read_health(path)) for path in self.health_files]
        not_ready = [(path, h) for path, h in healths if not bot_ready(h, now)]
        health = not_ready[0][1] if not_ready else healths[0][1]
        if not not_ready:
            since, self.bad_since = self.bad_since, None
            took = f" after {_minutes(now - since)}" if since is not None else ""
            commit = str(health.get("commit") or "?")[:7] if health else "?"
            self.alerter.resolve(BOT_ALERT, f"The bot is ready again on `{commit}`{took}.", now)
            return
        bad_since = self.bad_since or now
        self.bad_since = bad_since
        if self.deploying():
            return
        down = not health or not pid_alive(health.get("pid"))
        span = now - bad_since
        # Which process, when the bot runs as several.
        where = f"{not_ready[0][0].name}: " if len(self.health_files) > 1 else ""
        if down and span > self.down_after:
            self.alerter.fire(
                BOT_ALERT,
                "The bot is down",
                f"No bot process has been running for {_minutes(span)} "
                f"({where}{describe_health(health)}). Check `systemctl status concord-bot` and its "
                "journal.",
                now,
            )
        elif not down and span > self.unhealthy_after:
            self.alerter.fire(
                BOT_ALERT,
                "The bot is unhealthy",
                f"The bot's process runs but has not been ready for {_minutes(span)} "
                f"({where}{describe_health(health)}): it may be hung or cut off from Discord.",
                now,
            )

    # -- the thread -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="concord-bot-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # keep watching; the next look may work
                log.exception("the bot health check failed")


# -- wiring ---------------------------------------------------------------------------------------
ALERT_SOURCE = "concord webhook (deploy listener)"


@dataclass
class ListenerMonitoring:
    metrics: ListenerMetrics
    watcher: BotWatcher | None = None

    def start(self) -> None:
        if self.watcher is not None:
            self.watcher.start()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()


def build_monitoring(
    settings: WebhookSettings,
    queue: DeployQueue,
    *,
    send: Callable[[dict[str, Any]], object] | None = None,
) -> ListenerMonitoring:
    """Metrics always; alerts (deploys, the bot's health) when CONCORD_ALERT_WEBHOOK_URL is set.
    ``send`` replaces the webhook poster (tests)."""
    deployer = queue.deployer
    history: DeployHistory = deployer.history
    metrics = ListenerMetrics(history, settings.health_files, deployer.clock)
    deployer.observers.append(metrics.deploy_finished)
    if send is None and not settings.alert_url:
        return ListenerMonitoring(metrics)
    sender = send or webhook_sender(settings.alert_url or "")
    alerter = Alerter(sender, source=ALERT_SOURCE)
    deployer.observers.append(DeployAlerts(alerter, deployer.clock).deploy_finished)

    def deploying() -> bool:
        return queue.busy or bool(history.running())

    watcher = BotWatcher(alerter, settings.health_files, clock=deployer.clock, deploying=deploying)
    return ListenerMonitoring(metrics, watcher)
