"""The deployer: move the bot's checkout to exactly the pushed commit, restart it, check it, and
put the previous commit back when the new one does not come up.

One deploy runs at a time, across threads and processes (an ``flock`` beside the history
database), so the listener and ``concord deploy now`` never interleave. Pushes that arrive while
a deploy runs are coalesced by :class:`DeployQueue`: afterwards only the newest is deployed.

The steps of one deploy, each timed and recorded in the history:

1. ``git fetch`` the deploy branch; the target must be reachable from ``origin/<branch>``.
2. Skip a target that is already deployed or an ancestor of the deployed commit (a late
   delivery never moves the bot backwards); refuse when the checkout has local modifications.
3. ``git checkout --detach <target>`` and verify ``git rev-parse HEAD``.
4. Reinstall the package into the running environment only when ``pyproject.toml`` changed.
5. Run the restart command, then wait until the health file shows a ready bot with the target
   commit that started after the restart (and is not the process that was running before).

When step 3, 4 or 5 fails the previous commit is put back the same way (checkout, reinstall if
needed, restart, health) and the deploy is recorded as ``rolled_back`` with the error's tail.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from concord.clock import Clock
from concord.db.snapshots import (
    Restored,
    SnapshotError,
    find_snapshot,
    restore_snapshot,
    schema_version_of,
    snapshot_dir,
)
from concord.health import pid_alive, read_health
from concord.webhook.git import SHORT_SHA, CommandError, Git, run_command, tail
from concord.webhook.history import (
    DEPLOYED,
    FAILED,
    INTERRUPTED,
    REFUSED,
    ROLLBACK_FAILED,
    ROLLED_BACK,
    SKIPPED,
    SUPERSEDED,
    CommitInfo,
    DeployHistory,
    DeployRecord,
    Pin,
)
from concord.webhook.notify import Notifier
from concord.webhook.settings import WebhookSettings

log: logging.Logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
RESTART_TIMEOUT = 300.0
REINSTALL_TIMEOUT = 900.0
PYPROJECT = "pyproject.toml"
LISTENER_PACKAGE = "concord/webhook"


class DeployRequestError(Exception):
    """A deploy asked for on the command line cannot start (unknown commit, nothing to undo)."""


@dataclass(frozen=True)
class PushRequest:
    """What the deployer needs from one ``push`` delivery."""

    delivery_id: str
    before: str | None
    after: str
    commits: tuple[CommitInfo, ...] = ()


class DeployLock:
    """An exclusive ``flock`` on a file. Each instance opens its own descriptor, so two threads
    of one process exclude each other exactly as two processes do."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, blocking: bool = True) -> bool:
        if self._fd is not None:
            raise RuntimeError("this DeployLock is already held")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> DeployLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class StepFailed(Exception):
    """A deploy step failed; ``describe()`` is what the history and the notification show."""

    def __init__(self, step: str, message: str, output: str = "") -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message
        self.output = output

    def describe(self) -> str:
        text = f"{self.step} failed: {self.message}"
        return tail(f"{text}\n{self.output}" if self.output else text)


class StepTimer:
    """Seconds spent in each step, from a monotonic clock (wall-clock jumps do not count)."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._started: float = monotonic()
        self.durations: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = self._monotonic()
        try:
            yield
        finally:
            spent = self._monotonic() - started
            self.durations[name] = round(self.durations.get(name, 0.0) + spent, 3)

    def total(self) -> dict[str, float]:
        return {**self.durations, "total": round(self._monotonic() - self._started, 3)}


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def health_matches(
    health: dict[str, Any] | None, commit: str, since: datetime, previous_pid: object
) -> bool:
    """True when the health file shows a ready bot running ``commit`` that started at or after
    ``since`` and is not the process that was running before the restart.

    The bot writes ``started_at`` to the second, so ``since`` is compared truncated to the
    second; the pid check keeps an old process that started in that same second from passing.
    """
    if not health or health.get("ready") is not True or health.get("commit") != commit:
        return False
    started = _parse_time(health.get("started_at"))
    if started is None or started < since.replace(microsecond=0):
        return False
    return previous_pid is None or health.get("pid") != previous_pid


def describe_health(health: dict[str, Any] | None) -> str:
    if health is None:
        return "no readable health file"
    commit = health.get("commit")
    return (
        f"commit {str(commit)[:7] if commit else '?'}, ready {health.get('ready')}, "
        f"pid {health.get('pid')}, started {health.get('started_at')}"
    )


def describe_restore(restored: Restored) -> str:
    """What the history and the notification say about a database put back from a snapshot."""
    when = restored.snapshot.taken_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    count = restored.changes_set_aside
    verb = "was" if count == 1 else "were"
    return (
        f"restored the database to {when}; {count} change{'' if count == 1 else 's'} made by "
        f"{restored.set_aside_by} {verb} set aside in {restored.set_aside}"
    )


def _running_ready(health: dict[str, Any] | None, commit: str) -> bool:
    """The health file shows a ready bot on ``commit`` whose process is alive."""
    return bool(
        health
        and health.get("ready") is True
        and health.get("commit") == commit
        and pid_alive(health.get("pid"))
    )


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _with_restore(detail: str | None, restored: Restored | None) -> str | None:
    if restored is None:
        return detail
    note = describe_restore(restored)
    return f"{detail}; {note}" if detail else note


@dataclass
class _Progress:
    """How far a deploy got, which decides what putting the old commit back involves."""

    checkout: bool = False
    reinstall: bool = False
    restart: bool = False
    # The database put back from a pre-migration snapshot on the way (said in the record).
    restored: Restored | None = None


class Deployer:
    def __init__(
        self,
        settings: WebhookSettings,
        history: DeployHistory,
        *,
        notifier: Notifier | None = None,
        git: Git | None = None,
        clock: Clock | None = None,
        restart_cmd: Sequence[str] | None = None,
        stop_cmd: Sequence[str] | None = None,
        reinstall_cmd: Sequence[str] | None = None,
        health_timeout: float | None = None,
        poll_interval: float = POLL_INTERVAL,
        restart_timeout: float = RESTART_TIMEOUT,
        reinstall_timeout: float = REINSTALL_TIMEOUT,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.history = history
        self.notifier = notifier
        self.git: Git = git or Git(settings.repo_dir)
        self.clock: Clock = clock or Clock()
        self.restart_cmd: tuple[str, ...] = tuple(restart_cmd or settings.restart_cmd)
        self.stop_cmd: tuple[str, ...] = tuple(stop_cmd or settings.stop_cmd)
        self.reinstall_cmd: tuple[str, ...] = tuple(reinstall_cmd or settings.reinstall_command())
        self.health_timeout: float = (
            settings.health_timeout if health_timeout is None else health_timeout
        )
        self.poll_interval = poll_interval
        self.restart_timeout = restart_timeout
        self.reinstall_timeout = reinstall_timeout
        self._monotonic = monotonic
        self._sleep = sleep
        # Told of every finished deploy, like the notifier (the listener's metrics and alerts).
        self.observers: list[Callable[[DeployRecord], None]] = []

    @property
    def branch(self) -> str:
        return self.settings.branch

    @property
    def remote_ref(self) -> str:
        return f"refs/remotes/origin/{self.settings.branch}"

    def lock(self) -> DeployLock:
        return DeployLock(self.settings.lock_file)

    def deployed_commit(self) -> str | None:
        try:
            return self.git.head()
        except CommandError:
            return None

    def recover_interrupted(self) -> list[DeployRecord]:
        """At the listener's start: finish deploys a dead process left open (see
        :meth:`_finish_interrupted`) and close the queued ones (the queue died with it). Only
        when no deploy holds the lock."""
        lock = self.lock()
        if not lock.acquire(blocking=False):
            return []
        try:
            records = self._finish_interrupted()
            self.history.mark_interrupted(self.clock.now())
            return records
        finally:
            lock.release()

    def _finish_interrupted(self) -> list[DeployRecord]:
        """Bring each deploy a killed deployer left running to a verified state (under the
        lock, so none of them is still alive): the new commit passes the health check now, or
        the last verified commit is checked out, restarted and verified."""
        records: list[DeployRecord] = []
        for record in self.history.running():
            log.warning("deploy #%d was interrupted; finishing it", record.id)
            try:
                finished = self._resume(record)
            except (CommandError, StepFailed) as exc:
                output = exc.describe() if isinstance(exc, StepFailed) else f"{exc}\n{exc.output}"
                finished = self.history.finish(
                    record.id,
                    ROLLBACK_FAILED,
                    self.clock.now(),
                    detail="the deployer was stopped mid-deploy and could not verify what "
                    "runs; check `git status` in the checkout and `systemctl status concord-bot`",
                    error_tail=tail(output),
                )
            self._announce(finished)
            records.append(finished)
        return records

    def _resume(self, record: DeployRecord) -> DeployRecord:
        timer = StepTimer(self._monotonic)
        target, previous = record.target_sha, record.previous_sha
        since = record.started_at or record.queued_at
        head = self.git.head()
        if previous is None or previous == target:
            return self._finish(
                record.id,
                INTERRUPTED,
                timer,
                detail="the deployer stopped before this deploy changed anything",
            )
        if head == target:
            try:
                with timer.step("health"):
                    self._wait_for_health(target, since, None)
            except StepFailed as failure:
                progress = _Progress(
                    checkout=True,
                    reinstall=self._pyproject_changed(previous, target),
                    restart=True,
                )
                return self._recover(record.id, previous, target, timer, progress, failure)
            return self._finish(
                record.id,
                DEPLOYED,
                timer,
                detail=f"the deployer was stopped mid-deploy; {target[:7]} passed the health "
                "check afterwards",
            )
        # The checkout is on the previous commit (or somewhere else): make sure the last
        # verified commit is what runs, and verified.
        healths = [read_health(path) for path in self.settings.health_files]
        if head == previous and all(_running_ready(health, previous) for health in healths):
            return self._finish(
                record.id,
                INTERRUPTED,
                timer,
                detail=f"the deployer stopped before {target[:7]} was started; "
                f"{previous[:7]} still runs",
            )
        try:
            with timer.step("rollback"):
                if head != previous:
                    self._checkout(previous)
                    if self._pyproject_changed(head, previous):
                        self._reinstall()
                self._restore_for(previous, writer=target)
                self._restart_and_wait(previous, None)
        except StepFailed as failure:
            return self._finish(
                record.id,
                ROLLBACK_FAILED,
                timer,
                detail=f"the deployer was stopped mid-deploy and {previous[:7]} did not come "
                "back; the bot may be down: check `systemctl status concord-bot`",
                error_tail=failure.describe(),
            )
        return self._finish(
            record.id,
            INTERRUPTED,
            timer,
            detail=f"the deployer was stopped mid-deploy; {previous[:7]} was restarted and "
            "is healthy",
        )

    # -- entry points ---------------------------------------------------------------------------
    def deploy_pushes(self, batch: Sequence[tuple[int, PushRequest]]) -> DeployRecord | None:
        """Deploy the newest of the queued pushes in ``batch``; the others are superseded."""
        if not batch:
            return None
        with self.lock():
            self._finish_interrupted()
            timer = StepTimer(self._monotonic)
            try:
                with timer.step("fetch"):
                    self._fetch()
            except StepFailed as failure:
                last_id = batch[-1][0]
                self._supersede([deploy_id for deploy_id, _ in batch[:-1]], last_id)
                record = self._finish(
                    last_id,
                    FAILED,
                    timer,
                    detail="could not fetch; the bot is untouched",
                    error_tail=failure.describe(),
                )
                self._announce(record)
                return record
            on_branch: list[tuple[int, PushRequest]] = []
            record: DeployRecord | None = None
            for deploy_id, push in batch:
                if self._on_branch(push.after):
                    on_branch.append((deploy_id, push))
                    continue
                record = self._finish(
                    deploy_id,
                    REFUSED,
                    timer,
                    detail=f"{push.after[:7]} is not on origin/{self.branch} "
                    "(force-pushed over, or from another repository)",
                )
                self._announce(record)
            if not on_branch:
                return record
            chosen_id, chosen = self._newest(on_branch)
            self._supersede([i for i, _ in on_branch if i != chosen_id], chosen_id)
            record = self._execute(chosen_id, chosen.after, timer, allow_older=False, retry=False)
            self._announce(record)
            return record

    def deploy_commit(
        self,
        sha: str | None = None,
        *,
        allow_older: bool = False,
        wait: Callable[[], None] | None = None,
    ) -> DeployRecord:
        """``concord deploy now [SHA]``: the tip of origin/<branch>, or ``sha`` on it."""
        if sha is not None and not SHORT_SHA.match(sha):
            raise DeployRequestError(f"{sha!r} is not a commit id (4 to 64 hex digits)")
        with self._locked(wait):
            self._finish_interrupted()
            timer = StepTimer(self._monotonic)
            try:
                with timer.step("fetch"):
                    self._fetch()
            except StepFailed as failure:
                raise DeployRequestError(failure.describe()) from None
            target = self.git.resolve(sha or self.remote_ref)
            if target is None:
                raise DeployRequestError(f"{sha} is not a commit in {self.settings.repo_dir}")
            deploy_id = self.history.add(
                source="cli", branch=self.branch, target_sha=target, now=self.clock.now()
            )
            if not self._on_branch(target):
                record = self._finish(
                    deploy_id, REFUSED, timer, detail=f"{target[:7]} is not on origin/{self.branch}"
                )
            else:
                record = self._execute(
                    deploy_id, target, timer, allow_older=allow_older, retry=True
                )
            self._announce(record)
            return record

    def rollback(self, *, wait: Callable[[], None] | None = None) -> DeployRecord:
        """``concord deploy rollback``: back to the last deployed ancestor of the current commit."""
        with self._locked(wait):
            self._finish_interrupted()
            timer = StepTimer(self._monotonic)
            head = self.git.head()
            target = self._rollback_target(head)
            if target is None:
                raise DeployRequestError(
                    f"no earlier deploy of an ancestor of {head[:7]} is recorded; "
                    "use `concord deploy now SHA --allow-older` to choose a commit"
                )
            deploy_id = self.history.add(
                source="rollback", branch=self.branch, target_sha=target, now=self.clock.now()
            )
            record = self._execute(deploy_id, target, timer, allow_older=True, retry=True)
            if record.status == DEPLOYED:
                # A replayed or late delivery of what was just undone must not bring it back.
                self.history.pin(head, deploy_id, self.clock.now())
            self._announce(record)
            return record

    def unpin(self) -> Pin | None:
        """``concord deploy unpin``: deliveries of rolled-back commits deploy again."""
        with self.lock():
            return self.history.unpin(self.clock.now(), "concord deploy unpin")

    # -- the steps ------------------------------------------------------------------------------
    @contextmanager
    def _locked(self, wait: Callable[[], None] | None) -> Iterator[None]:
        lock = self.lock()
        if not lock.acquire(blocking=False):
            if wait is not None:
                wait()  # tell the operator why nothing happens yet
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def _fetch(self) -> None:
        try:
            self.git.fetch(self.branch)
        except CommandError as exc:
            raise StepFailed("fetch", str(exc), exc.output) from None

    def _on_branch(self, sha: str) -> bool:
        resolved = self.git.resolve(sha)
        return resolved is not None and self.git.is_ancestor(resolved, self.remote_ref)

    def _newest(self, pushes: Sequence[tuple[int, PushRequest]]) -> tuple[int, PushRequest]:
        """The push every other one is an ancestor of (the latest arrival when none is)."""
        for deploy_id, push in reversed(pushes):
            if all(
                other.after == push.after or self.git.is_ancestor(other.after, push.after)
                for _, other in pushes
            ):
                return deploy_id, push
        return pushes[-1]

    def _rollback_target(self, head: str) -> str | None:
        for record in self.history.deployed():
            for sha in (record.target_sha, record.previous_sha):
                if sha and sha != head and self.git.is_ancestor(sha, head):
                    return sha
        return None

    def _skip_reason(
        self, target: str, previous: str, *, allow_older: bool, retry: bool
    ) -> str | None:
        if target == previous:
            return f"{target[:7]} is already deployed"
        if not allow_older and self.git.is_ancestor(target, previous):
            return f"{target[:7]} is older than the deployed {previous[:7]}"
        if not retry:
            pin = self.history.active_pin()
            if pin is not None and self.git.is_ancestor(target, pin.sha):
                return (
                    f"{target[:7]} is within what `concord deploy rollback` #{pin.deploy_id} "
                    f"undid (up to {pin.sha[:7]}); a newer push or `concord deploy unpin` "
                    "lifts the pin"
                )
            earlier = self.history.was_rolled_back(target)
            if earlier is not None:
                return (
                    f"{target[:7]} was rolled back by deploy #{earlier.id}; "
                    f"`concord deploy now {target[:7]}` tries it again"
                )
        return None

    def _execute(
        self, deploy_id: int, target: str, timer: StepTimer, *, allow_older: bool, retry: bool
    ) -> DeployRecord:
        note: str | None = None
        try:
            previous = self.git.head()
            self.history.start(deploy_id, previous, self.clock.now())
            if not self.git.is_ancestor(previous, self.remote_ref):
                # origin/<branch> was force-pushed back over the running commit: what the team
                # chose is the branch tip, even if it is older than what runs.
                tip = self.git.resolve(self.remote_ref)
                if tip is not None and not retry and tip != target:
                    self.history.set_target(deploy_id, tip)
                    target = tip
                allow_older = True
                note = (
                    f"origin/{self.branch} no longer contains the running {previous[:7]} "
                    f"(force-pushed); deployed {target[:7]}, which the branch now holds"
                )
            reason = self._skip_reason(target, previous, allow_older=allow_older, retry=retry)
            if reason is not None:
                return self._finish(deploy_id, SKIPPED, timer, detail=reason)
            modified = self.git.modified_files()
            if modified:
                shown = ", ".join(modified[:10]) + (" …" if len(modified) > 10 else "")
                return self._finish(
                    deploy_id,
                    REFUSED,
                    timer,
                    detail=f"the checkout has local modifications ({shown}); commit, stash or "
                    "discard them on the host, then `concord deploy now`",
                )
            problem = self._ownership_problem(previous, target)
            if problem is not None:
                return self._finish(deploy_id, REFUSED, timer, detail=problem)
            commits, count = self.git.commits(previous, target)
            self.history.set_commits(deploy_id, commits, count)
        except CommandError as exc:
            return self._finish(
                deploy_id,
                FAILED,
                timer,
                detail="git failed before anything changed; the bot is untouched",
                error_tail=tail(f"{exc}\n{exc.output}"),
            )
        log.info("deploy #%d: %s -> %s", deploy_id, previous[:7], target[:7])
        progress = _Progress()
        try:
            self._switch(previous, target, timer, progress)
        except StepFailed as failure:
            log.warning("deploy #%d: %s; putting %s back", deploy_id, failure, previous[:7])
            return self._recover(deploy_id, previous, target, timer, progress, failure)
        log.info("deploy #%d: %s is up", deploy_id, target[:7])
        notes = [note, self._listener_note(previous, target)]
        return self._finish(
            deploy_id,
            DEPLOYED,
            timer,
            detail=_with_restore("; ".join(n for n in notes if n) or None, progress.restored),
            reinstalled=progress.reinstall,
        )

    def _protected_paths(self) -> list[str]:
        """The files a deploy must never track, relative to the checkout: the bot's database
        (and its WAL, its snapshots), the health file, the deploy history and lock, ``.env``."""
        settings = self.settings
        db, deploy_db = settings.db_path, settings.deploy_db
        candidates = [
            db,
            Path(f"{db}-wal"),
            Path(f"{db}-shm"),
            snapshot_dir(db),
            *settings.health_files,
            settings.health_file,
            deploy_db,
            Path(f"{deploy_db}-wal"),
            Path(f"{deploy_db}-shm"),
            settings.lock_file,
            settings.repo_dir / ".env",
        ]
        repo = settings.repo_dir.resolve()
        inside: list[str] = []
        for path in candidates:
            resolved = path.resolve()
            if resolved.is_relative_to(repo) and resolved != repo:
                inside.append(resolved.relative_to(repo).as_posix())
        return inside

    def _ownership_problem(self, previous: str, target: str) -> str | None:
        """Why checking ``target`` out would touch a file the deploy does not own, if it would:
        it tracks a protected path, or creates a path that exists as an untracked or ignored
        file (git overwrites ignored files without asking, and the rollback would delete it)."""
        tracked = self.git.tracked(target, self._protected_paths())
        if tracked:
            shown = ", ".join(tracked[:5])
            return (
                f"{target[:7]} tracks {shown}, which the running bot owns (database, health "
                "file, deploy history or .env); remove it from the repository "
                "(`git rm --cached`) and push again"
            )
        repo = self.settings.repo_dir
        clashes = [path for path in self.git.added_files(previous, target) if _exists(repo / path)]
        if clashes:
            shown = ", ".join(clashes[:5]) + (" …" if len(clashes) > 5 else "")
            return (
                f"{target[:7]} adds {shown}, which already exist(s) in the checkout as untracked "
                "or ignored files; move them away on the host (or stop tracking them), then "
                "`concord deploy now`"
            )
        return None

    def _listener_note(self, previous: str, target: str) -> str | None:
        """The listener keeps running the code it started with; say when that code changed."""
        try:
            changed = self.git.file_changed(previous, target, LISTENER_PACKAGE)
        except CommandError:
            return None
        if not changed:
            return None
        return (
            f"{LISTENER_PACKAGE}/ changed: restart concord-webhook to run the new listener "
            "(the running one keeps deploying meanwhile)"
        )

    def _switch(self, current: str, target: str, timer: StepTimer, progress: _Progress) -> None:
        """Checkout, reinstall when pyproject.toml differs, restart, wait for health."""
        with timer.step("checkout"):
            progress.checkout = True
            self._checkout(target)
            changed = self._pyproject_changed(current, target)
        if changed:
            with timer.step("reinstall"):
                progress.reinstall = True
                self._reinstall()
        # Going back to a commit that knows an older schema (a rollback by hand).
        progress.restored = self._restore_for(target, writer=current)
        progress.restart = True
        self._restart_and_wait(target, timer)

    def _recover(
        self,
        deploy_id: int,
        previous: str,
        target: str,
        timer: StepTimer,
        progress: _Progress,
        failure: StepFailed,
    ) -> DeployRecord:
        if not progress.reinstall and not progress.restart and self.deployed_commit() == previous:
            return self._finish(
                deploy_id,
                FAILED,
                timer,
                detail="the checkout did not move; the bot is untouched",
                error_tail=failure.describe(),
            )
        try:
            with timer.step("rollback"):
                self._checkout(previous)
                if progress.reinstall:
                    self._reinstall()
                if progress.reinstall or progress.restart:
                    restored = self._restore_for(previous, writer=target)
                    progress.restored = restored or progress.restored
                    self._restart_and_wait(previous, None)
        except StepFailed as second:
            log.error("deploy #%d: putting %s back failed too: %s", deploy_id, previous[:7], second)
            return self._finish(
                deploy_id,
                ROLLBACK_FAILED,
                timer,
                detail=_with_restore(
                    f"{target[:7]} did not come up and putting {previous[:7]} back failed "
                    "too; the bot may be down: check `systemctl status concord-bot`",
                    progress.restored,
                ),
                error_tail=tail(f"{failure.describe()}\nthen, rolling back, {second.describe()}"),
                reinstalled=progress.reinstall,
            )
        return self._finish(
            deploy_id,
            ROLLED_BACK,
            timer,
            detail=_with_restore(
                f"{target[:7]} did not come up; {previous[:7]} is running again", progress.restored
            ),
            error_tail=failure.describe(),
            reinstalled=progress.reinstall,
        )

    def _restore_for(self, commit: str, *, writer: str) -> Restored | None:
        """Before starting ``commit``: when the database is at a newer schema than ``commit``
        knows (a migration by a later commit), stop the bot and put back the snapshot taken
        before that migration; the current file, with the changes ``writer`` made since, is
        kept beside the snapshot. Nothing happens when the schema is one ``commit`` knows."""
        db_path = self.settings.db_path
        try:
            known = self.git.schema_version_at(commit)
        except CommandError as exc:
            raise StepFailed("restore", str(exc), exc.output) from None
        if known is None or not db_path.exists():
            return None
        try:
            current = schema_version_of(db_path)
        except sqlite3.Error as exc:
            raise StepFailed(
                "restore", f"cannot read the schema version of {db_path}: {exc}"
            ) from None
        if current <= known:
            return None
        snapshot = find_snapshot(db_path, max_version=known, migrated_by=None)
        if snapshot is None:
            raise StepFailed(
                "restore",
                f"{db_path} is at schema version {current} but {commit[:7]} knows only up to "
                f"{known}, and {snapshot_dir(db_path)} holds no snapshot taken at version "
                f"{known} or older; restore a backup by hand (deploy/README.md)",
            )
        self._stop_bot()
        try:
            restored = restore_snapshot(
                snapshot, db_path, set_aside_by=writer, now=self.clock.now()
            )
        except SnapshotError as exc:
            raise StepFailed("restore", str(exc)) from None
        log.warning(
            "restored %s to its state of %s (schema %d) for %s; %d change(s) by %s set aside in %s",
            db_path,
            snapshot.taken_at.isoformat(),
            snapshot.from_version,
            commit[:7],
            restored.changes_set_aside,
            writer[:7],
            restored.set_aside,
        )
        return restored

    def _stop_bot(self) -> None:
        """The bot must not hold the database open while it is replaced."""
        try:
            run_command(self.stop_cmd, cwd=self.settings.repo_dir, timeout=self.restart_timeout)
        except CommandError as exc:
            raise StepFailed("stop", str(exc), exc.output) from None

    def _checkout(self, sha: str) -> None:
        try:
            self.git.checkout(sha)
            head = self.git.head()
        except CommandError as exc:
            raise StepFailed("checkout", str(exc), exc.output) from None
        if head != sha:
            raise StepFailed("checkout", f"HEAD is {head[:7]} after checking out {sha[:7]}")

    def _pyproject_changed(self, old: str, new: str) -> bool:
        try:
            return self.git.file_changed(old, new, PYPROJECT)
        except CommandError as exc:
            raise StepFailed("checkout", str(exc), exc.output) from None

    def _reinstall(self) -> None:
        try:
            run_command(
                self.reinstall_cmd, cwd=self.settings.repo_dir, timeout=self.reinstall_timeout
            )
        except CommandError as exc:
            raise StepFailed("reinstall", str(exc), exc.output) from None

    def _restart_and_wait(self, commit: str, timer: StepTimer | None) -> None:
        """Restart the bot (every process of it: CONCORD_RESTART_CMD restarts them all, e.g.
        ``systemctl restart concord-bot.target``) and wait until each health file shows a new,
        ready process on ``commit``."""
        previous_pids: dict[Path, object] = {}
        for path in self.settings.health_files:
            before = read_health(path)
            previous_pids[path] = before.get("pid") if before else None
        since = self.clock.now()
        with self._timed(timer, "restart"):
            try:
                run_command(
                    self.restart_cmd, cwd=self.settings.repo_dir, timeout=self.restart_timeout
                )
            except CommandError as exc:
                raise StepFailed("restart", str(exc), exc.output) from None
        with self._timed(timer, "health"):
            self._wait_for_health(commit, since, previous_pids)

    @contextmanager
    def _timed(self, timer: StepTimer | None, name: str) -> Iterator[None]:
        if timer is None:
            yield
            return
        with timer.step(name):
            yield

    def _wait_for_health(self, commit: str, since: datetime, previous_pid: object) -> None:
        """Until every process's health file shows it ready on ``commit`` (``previous_pid``:
        the pid the file named before the restart, which must have changed; by file, a dict,
        when the bot runs as several processes)."""
        previous_pids = previous_pid if isinstance(previous_pid, dict) else None
        paths = self.settings.health_files
        deadline = self._monotonic() + self.health_timeout
        while True:
            waiting: list[tuple[Path, dict[str, Any] | None]] = []
            for path in paths:
                health = read_health(path)
                previous = previous_pids.get(path) if previous_pids is not None else previous_pid
                if not health_matches(health, commit, since, previous):
                    waiting.append((path, health))
            if not waiting:
                return
            if self._monotonic() >= deadline:
                path, health = waiting[0]
                which = f"{path.name}: " if len(paths) > 1 else "health file: "
                more = (
                    f"; {len(waiting)} of {len(paths)} processes not ready"
                    if len(paths) > 1
                    else ""
                )
                raise StepFailed(
                    "health",
                    f"the bot did not report ready on {commit[:7]} within "
                    f"{self.health_timeout:g} s ({which}{describe_health(health)}{more})",
                )
            self._sleep(self.poll_interval)

    # -- records --------------------------------------------------------------------------------
    def _finish(
        self,
        deploy_id: int,
        status: str,
        timer: StepTimer,
        *,
        detail: str | None = None,
        error_tail: str | None = None,
        reinstalled: bool = False,
    ) -> DeployRecord:
        record = self.history.finish(
            deploy_id,
            status,
            self.clock.now(),
            detail=detail,
            error_tail=error_tail,
            durations=timer.total(),
            reinstalled=reinstalled,
        )
        if status == DEPLOYED and record.source != "rollback":
            self.history.unpin(self.clock.now(), f"deploy #{deploy_id}")
        level = logging.INFO if status in (DEPLOYED, SKIPPED, SUPERSEDED) else logging.WARNING
        log.log(level, "deploy #%d %s: %s", deploy_id, status, detail or record.target_sha[:7])
        return record

    def _supersede(self, deploy_ids: Sequence[int], by_id: int) -> None:
        now = self.clock.now()
        for deploy_id in deploy_ids:
            self.history.finish(deploy_id, SUPERSEDED, now, detail=f"superseded by deploy #{by_id}")

    def _off_branch(self, commit: str | None) -> bool:
        if not commit:
            return False
        try:
            return not self.git.is_ancestor(commit, self.remote_ref)
        except CommandError:
            return False

    def _announce(self, record: DeployRecord) -> None:
        for observer in self.observers:
            try:
                observer(record)
            except Exception:  # metrics and alerts never fail a deploy
                log.exception("deploy #%d: an observer failed", record.id)
        notifier = self.notifier
        if notifier is None:
            return
        # A skipped deploy is news only when it leaves the bot on a commit off the branch.
        always = record.status == SKIPPED and self._off_branch(self.deployed_commit())
        try:
            notifier.send(record, always=always)
        except Exception:  # a notification never fails a deploy
            log.exception("deploy #%d: the notification failed", record.id)


class DeployQueue:
    """Runs deploys one after another on a background thread and coalesces pushes.

    ``submit`` records the push as queued and returns at once (the listener answers 202 within
    a second). Pushes that arrive while a deploy runs wait in ``_pending``; when it finishes
    they are handed over together and only the newest is deployed.
    """

    def __init__(self, deployer: Deployer) -> None:
        self.deployer = deployer
        self._lock = threading.Lock()
        self._pending: list[tuple[int, PushRequest]] = []
        self._worker: threading.Thread | None = None
        self._idle = threading.Condition(self._lock)

    def submit(self, push: PushRequest) -> int:
        deploy_id = self.deployer.history.add(
            source="webhook",
            branch=self.deployer.branch,
            target_sha=push.after,
            now=self.deployer.clock.now(),
            delivery_id=push.delivery_id,
            before_sha=push.before,
            commits=push.commits,
        )
        with self._lock:
            self._pending.append((deploy_id, push))
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="concord-deployer", daemon=True
                )
                self._worker.start()
        return deploy_id

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._worker is not None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no deploy runs or waits; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._worker is None, timeout)

    def _work(self) -> None:
        try:
            while True:
                with self._lock:
                    batch, self._pending = self._pending, []
                    if not batch:
                        # Under the same lock hold as the check: a push submitted from now
                        # on sees no worker and starts one.
                        self._worker = None
                        self._idle.notify_all()
                        return
                try:
                    self.deployer.deploy_pushes(batch)
                except Exception:  # keep serving later pushes; the history shows what happened
                    log.exception("deploy of %d queued push(es) crashed", len(batch))
                    self._close_crashed(batch)
        finally:
            with self._lock:
                if self._worker is threading.current_thread():  # left by an exception
                    self._worker = None
                    self._idle.notify_all()

    def _close_crashed(self, batch: Sequence[tuple[int, PushRequest]]) -> None:
        now = self.deployer.clock.now()
        for deploy_id, _ in batch:
            try:
                record = self.deployer.history.get(deploy_id)
                if record is not None and record.status in ("queued", "running"):
                    self.deployer.history.finish(
                        deploy_id, FAILED, now, detail="the deployer crashed; see the webhook's log"
                    )
            except Exception:
                log.exception("could not close deploy #%d", deploy_id)
