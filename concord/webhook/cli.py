"""``concord webhook`` and ``concord deploy now|rollback|unpin|history``.

Registered on the main parser by ``concord.cli.build_parser`` through :func:`register`. Nothing
here imports the bot or discord.py: the listener must keep running while the bot is replaced.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import shutil
import signal
import sys
from datetime import UTC
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import concord
from concord.config import SettingsError, load_settings
from concord.errors import ExitError
from concord.logsetup import setup_logging
from concord.webhook.deployer import Deployer, DeployQueue, DeployRequestError
from concord.webhook.history import DEPLOYED, SKIPPED, DeployHistory, DeployRecord
from concord.webhook.notify import DiscordNotifier
from concord.webhook.settings import WebhookSettings, load_webhook_settings

if TYPE_CHECKING:
    from waitress.server import BaseWSGIServer, MultiSocketServer

    from concord.webhook.monitor import ListenerMetrics

log: logging.Logger = logging.getLogger("concord.webhook")

SERVER_THREADS = 4
# Idle or slow connections cost a socket each, not a thread, but waitress stops accepting at
# its connection limit (default 100) until one closes, and closes idle ones only after
# channel_timeout (default 120 s): a hundred idle sockets silenced the listener. GitHub sends a
# whole delivery at once, so a connection idle for 10 s is closed (checked every 2 s), and the
# limit is far above what a proxy in front opens. The proxy must buffer requests (README).
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT_SECONDS = 10
CLEANUP_INTERVAL_SECONDS = 2
MAX_HEADER_BYTES = 64 * 1024
# systemd's TimeoutStopSec for the unit is longer than this: a deploy in progress may finish.
SHUTDOWN_WAIT_SECONDS = 240.0


def _setup() -> WebhookSettings:
    common = load_settings()
    setup_logging(common.log_level, common.log_format)
    return load_webhook_settings()


def build_deployer(settings: WebhookSettings) -> Deployer:
    history = DeployHistory(settings.deploy_db)
    history.create()
    notifier = DiscordNotifier(settings.notify_url) if settings.notify_url else None
    deployer = Deployer(settings, history, notifier=notifier)
    if deployer.deployed_commit() is None:
        raise SettingsError(
            "CONCORD_REPO_DIR",
            f"{settings.repo_dir.resolve()} is not a git checkout with a commit "
            "(point it at the clone the bot runs from)",
        )
    return deployer


def check_restart_command(settings: WebhookSettings) -> None:
    program = settings.restart_cmd[0]
    if shutil.which(program) is None:
        raise SettingsError("CONCORD_RESTART_CMD", f"{program!r} is not a program on PATH")


def warn_if_not_editable(settings: WebhookSettings) -> None:
    """The bot reports the commit of the checkout it was imported from: an install that is not
    editable (`pip install -e`) would run the same code whatever the checkout holds."""
    package = Path(concord.__file__).resolve().parent
    if not package.is_relative_to(settings.repo_dir.resolve()):
        log.warning(
            "the concord package is imported from %s, not from CONCORD_REPO_DIR %s: install it "
            "with `pip install -e %s`, or deploys will not change the running code",
            package,
            settings.repo_dir.resolve(),
            settings.repo_dir.resolve(),
        )


def build_server(
    settings: WebhookSettings,
    queue: DeployQueue,
    *,
    port: int | None = None,
    metrics: ListenerMetrics | None = None,
) -> BaseWSGIServer | MultiSocketServer:
    """The production server: waitress, with its own 1 MB request limit in front of Flask's."""
    # Flask and waitress are imported here, not at the top, so that `concord db ...` and the
    # other commands that share this parser start without them.
    from waitress.server import create_server

    from concord.webhook.app import MAX_BODY, create_app

    app = create_app(settings, queue, metrics=metrics)
    return create_server(
        app,
        host=settings.host,
        port=settings.port if port is None else port,
        threads=SERVER_THREADS,
        max_request_body_size=MAX_BODY,
        max_request_header_size=MAX_HEADER_BYTES,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT_SECONDS,
        cleanup_interval=CLEANUP_INTERVAL_SECONDS,
        # poll(), not select(): select() cannot watch descriptors past 1024.
        asyncore_use_poll=True,
        ident="concord-webhook",
    )


# -- concord webhook ------------------------------------------------------------------------------
def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_webhook(args: argparse.Namespace) -> int:
    settings = _setup()
    settings.require_secret()
    if args.debug and not _is_loopback(settings.host):
        raise ExitError(
            "--debug runs Flask's development server, which must not face a network; "
            "set CONCORD_WEBHOOK_HOST=127.0.0.1 or drop --debug"
        )
    check_restart_command(settings)
    deployer = build_deployer(settings)
    warn_if_not_editable(settings)
    for record in deployer.recover_interrupted():
        log.warning("finished deploy #%d left by a previous run: %s", record.id, _summary(record))
    queue = DeployQueue(deployer)
    log.info(
        "deploying %s of %s; restart command: %s",
        settings.branch,
        settings.repo_dir.resolve(),
        " ".join(deployer.restart_cmd),
    )
    from concord.webhook.monitor import build_monitoring  # prometheus-client: only here

    monitoring = build_monitoring(settings, queue)
    monitoring.start()
    try:
        if args.debug:
            from concord.webhook.app import create_app

            log.warning("serving with Flask's development server (--debug)")
            app = create_app(settings, queue, metrics=monitoring.metrics)
            app.run(settings.host, settings.port, use_reloader=False)
        else:
            _serve(settings, queue, monitoring.metrics)
    finally:
        monitoring.stop()
    if queue.busy:
        log.info("waiting for the deploy in progress to finish")
        if not queue.wait_idle(SHUTDOWN_WAIT_SECONDS):
            log.error("stopped with a deploy still running; the next start marks it interrupted")
    return 0


def _serve(settings: WebhookSettings, queue: DeployQueue, metrics: ListenerMetrics) -> None:
    server = build_server(settings, queue, metrics=metrics)

    def stop(signum: int, frame: FrameType | None) -> None:
        # waitress leaves its loop on SystemExit and closes the listening socket.
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        log.info(
            "listening on http://%s:%d (POST /github, GET /health, GET /metrics)",
            settings.host,
            settings.port,
        )
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()


# -- concord deploy ---------------------------------------------------------------------------
def _waiting() -> None:
    print("another deploy is running; waiting for it to finish…", file=sys.stderr, flush=True)


def _report(record: DeployRecord) -> int:
    print(_summary(record))
    if record.error_tail:
        print(record.error_tail)
    return 0 if record.status in (DEPLOYED, SKIPPED) else 1


def _summary(record: DeployRecord) -> str:
    seconds = record.total_seconds
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    line = f"deploy #{record.id} {record.status}: {record.target_sha[:7]}{took}"
    return f"{line} — {record.detail}" if record.detail else line


def cmd_deploy_now(args: argparse.Namespace) -> int:
    deployer = build_deployer(_setup())
    try:
        record = deployer.deploy_commit(args.sha, allow_older=args.allow_older, wait=_waiting)
    except DeployRequestError as exc:
        raise ExitError(str(exc), code=1) from None
    return _report(record)


def cmd_deploy_rollback(args: argparse.Namespace) -> int:
    deployer = build_deployer(_setup())
    try:
        record = deployer.rollback(wait=_waiting)
    except DeployRequestError as exc:
        raise ExitError(str(exc), code=1) from None
    return _report(record)


def cmd_deploy_unpin(args: argparse.Namespace) -> int:
    deployer = build_deployer(_setup())
    pin = deployer.unpin()
    if pin is None:
        print("nothing is pinned")
        return 0
    print(
        f"unpinned: commits up to {pin.sha[:7]} (undone by rollback #{pin.deploy_id}) deploy "
        "again when a push delivers them"
    )
    return 0


def _history_line(record: DeployRecord) -> str:
    when = record.queued_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    span = f"{record.previous_sha[:7]}→" if record.previous_sha else ""
    seconds = record.total_seconds
    took = f"{seconds:6.1f}s" if seconds is not None else "      -"
    detail = f"  {record.detail}" if record.detail else ""
    return (
        f"#{record.id:<4} {when}  {record.source:<8} {record.status:<15} "
        f"{span}{record.target_sha[:7]:<7} {took}{detail}"
    )


def _show(record: DeployRecord) -> None:
    print(_summary(record))
    print(f"  source    {record.source} (delivery {record.delivery_id or '-'})")
    print(f"  branch    {record.branch}")
    print(f"  previous  {record.previous_sha or '-'}")
    print(f"  target    {record.target_sha}")
    print(f"  queued    {record.queued_at.isoformat(timespec='seconds')}")
    if record.finished_at:
        print(f"  finished  {record.finished_at.isoformat(timespec='seconds')}")
    if record.durations:
        steps = ", ".join(f"{name} {sec:.2f} s" for name, sec in record.durations.items())
        print(f"  timings   {steps}")
    print(f"  reinstall {'yes' if record.reinstalled else 'no'}")
    if record.commits:
        print(f"  commits   ({record.commit_count})")
        for commit in record.commits:
            print(f"    {commit.short} {commit.title} — {commit.author}")
    if record.error_tail:
        print("  error:")
        for line in record.error_tail.splitlines():
            print(f"    {line}")


def cmd_deploy_history(args: argparse.Namespace) -> int:
    settings = _setup()
    history = DeployHistory(settings.deploy_db)
    if not settings.deploy_db.exists():
        print(f"no deploys yet ({settings.deploy_db} does not exist)")
        return 0
    history.create()
    if args.id is not None:
        record = history.get(args.id)
        if record is None:
            raise ExitError(f"there is no deploy #{args.id}", code=1)
        _show(record)
        return 0
    records = history.recent(args.limit)
    if args.json:
        print(json.dumps([_as_json(r) for r in records], indent=1))
        return 0
    if not records:
        print("no deploys yet")
    for record in records:
        print(_history_line(record))
    return 0


def _as_json(record: DeployRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "source": record.source,
        "delivery_id": record.delivery_id,
        "status": record.status,
        "previous": record.previous_sha,
        "target": record.target_sha,
        "commits": [{"sha": c.sha, "author": c.author, "title": c.title} for c in record.commits],
        "commit_count": record.commit_count,
        "detail": record.detail,
        "error_tail": record.error_tail,
        "reinstalled": record.reinstalled,
        "durations": record.durations,
        "queued_at": record.queued_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
    }


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``webhook`` and ``deploy now|rollback|history`` to the ``concord`` parser."""
    webhook = sub.add_parser("webhook", help="run the GitHub webhook listener that auto-deploys")
    webhook.add_argument(
        "--debug",
        action="store_true",
        help="serve with Flask's development server (loopback only) instead of waitress",
    )
    webhook.set_defaults(func=cmd_webhook)

    deploy = sub.add_parser("deploy", help="deploy by hand, roll back, show the deploy history")
    commands = deploy.add_subparsers(dest="deploy_command", required=True)
    now = commands.add_parser("now", help="deploy origin/<branch> (or SHA on it) now")
    now.add_argument("sha", nargs="?", help="the commit to deploy (default: the branch tip)")
    now.add_argument(
        "--allow-older",
        action="store_true",
        help="allow moving to an ancestor of the deployed commit",
    )
    now.set_defaults(func=cmd_deploy_now)
    commands.add_parser(
        "rollback",
        help="go back to the last deployed commit before the current one (and pin it there "
        "until a newer push)",
    ).set_defaults(func=cmd_deploy_rollback)
    commands.add_parser(
        "unpin", help="let deliveries of the commits a rollback undid deploy again"
    ).set_defaults(func=cmd_deploy_unpin)
    history = commands.add_parser("history", help="recent deploys, newest first")
    history.add_argument("id", nargs="?", type=_positive, help="show one deploy in full")
    history.add_argument("--limit", "-n", type=_positive, default=20, help="how many (20)")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(func=cmd_deploy_history)
