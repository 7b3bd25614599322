"""The listener: signatures, limits, event routing, redelivery, and a run through waitress."""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from concord.webhook.app import MAX_BODY, classify, create_app, sign, signature_valid
from concord.webhook.cli import build_server
from concord.webhook.deployer import Deployer, DeployQueue
from concord.webhook.git import CommandResult, Git
from concord.webhook.history import DEPLOYED, SKIPPED, SUPERSEDED, DeployHistory
from concord.webhook.settings import WebhookSettings
from tests.webhook.deploy_rig import SECRET, ZERO, DeployRig

AUTH = {"Authorization": f"Bearer {SECRET}"}


class CountingGit(Git):
    """The real Git, counting its calls: a refused delivery must not run git at all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, ...]] = []

    def _run(self, *args: str, check: bool = True) -> CommandResult:
        self.calls.append(args)
        return super()._run(*args, check=check)


def push_payload(before: str = "a" * 40, after: str = "b" * 40, **change: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "deleted": False,
        "commits": [{"id": after, "message": "Change\n\nbody", "author": {"name": "Ada"}}],
    }
    payload.update(change)
    return payload


@dataclass
class Listener:
    client: FlaskClient
    git: CountingGit
    deployer: Deployer
    queue: DeployQueue

    def deliver(
        self,
        payload: dict[str, Any] | bytes,
        *,
        event: str = "push",
        delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        secret: str = SECRET,
        signature: str | None = None,
        content_type: str = "application/json",
    ) -> Any:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature if signature is not None else sign(secret, body),
            "Content-Type": content_type,
        }
        if signature == "":
            del headers["X-Hub-Signature-256"]
        return self.client.post("/github", data=body, headers=headers)

    def deploys(self) -> int:
        return len(self.deployer.history.recent(100))


def make_listener(settings: WebhookSettings) -> Listener:
    history = DeployHistory(settings.deploy_db)
    history.create()
    git = CountingGit(settings.repo_dir)
    deployer = Deployer(settings, history, git=git, health_timeout=5.0, poll_interval=0.02)
    queue = DeployQueue(deployer)
    return Listener(create_app(settings, queue).test_client(), git, deployer, queue)


@pytest.fixture
def listener(tmp_path: Path) -> Listener:
    """A listener whose repository does not exist: these tests must never reach git."""
    return make_listener(
        WebhookSettings(
            secret=SECRET,
            repo_dir=tmp_path / "no-repository",
            health_file=tmp_path / "health.json",
            deploy_db=tmp_path / "deploy.db",
        )
    )


@pytest.fixture
def deploying(rig: DeployRig) -> Iterator[Listener]:
    """A listener in front of the deploy rig."""
    live = make_listener(rig.settings())
    yield live
    assert live.queue.wait_idle(30)


# -- signatures ---------------------------------------------------------------------------------
def test_githubs_published_test_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected
    assert signature_valid("It's a Secret to Everybody", b"Hello, World!", expected)
    assert not signature_valid("It's a Secret to Everybody", b"Hello, World?", expected)


def one_byte_changed(signature: str) -> str:
    last = signature[-1]
    return signature[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize("kind", ["missing", "wrong secret", "one byte changed", "not hex", "sha1"])
def test_a_bad_signature_is_refused_before_anything_happens(
    listener: Listener, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps(push_payload(marker="BODY-MARKER")).encode()
    good = sign(SECRET, body)
    signature = {
        "missing": "",
        "wrong secret": sign("another secret entirely", body),
        "one byte changed": one_byte_changed(good),
        "not hex": "sha256=" + "zz" * 32,
        "sha1": "sha1=" + "0" * 40,
    }[kind]
    response = listener.deliver(body, signature=signature)
    assert response.status_code == 401
    assert listener.git.calls == []
    assert listener.deployer.history.delivery_count() == 0
    assert listener.deploys() == 0
    assert "BODY-MARKER" not in caplog.text
    assert SECRET not in caplog.text
    assert "refused a delivery" in caplog.text


def test_a_changed_body_fails_the_original_signature(listener: Listener) -> None:
    body = json.dumps(push_payload()).encode()
    response = listener.deliver(body.replace(b"main", b"mai0"), signature=sign(SECRET, body))
    assert response.status_code == 401
    assert listener.git.calls == []


def test_a_body_over_one_megabyte_gets_413_before_the_signature_is_checked(
    listener: Listener,
) -> None:
    body = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    response = listener.deliver(body)  # correctly signed, still refused
    assert response.status_code == 413
    assert listener.git.calls == []
    assert listener.deployer.history.delivery_count() == 0
    assert listener.deliver(b"x" * (MAX_BODY + 1)).status_code == 413


# -- routing ------------------------------------------------------------------------------------
def test_ping_is_answered(listener: Listener) -> None:
    response = listener.deliver({"zen": "Keep it logically awesome.", "hook_id": 1}, event="ping")
    assert response.status_code == 200
    assert response.get_json() == {"status": "pong"}
    assert listener.deploys() == 0


@pytest.mark.parametrize(
    ("event", "change", "reason"),
    [
        ("push", {"ref": "refs/heads/feature"}, "push to refs/heads/feature; only refs/heads/main"),
        ("push", {"ref": "refs/tags/v1.0"}, "push to refs/tags/v1.0"),
        ("push", {"deleted": True, "after": ZERO}, "refs/heads/main was deleted"),
        ("push", {"after": ZERO}, "refs/heads/main was deleted"),
        ("issues", {}, "event 'issues' is not deployed"),
        ("pull_request", {}, "event 'pull_request' is not deployed"),
    ],
)
def test_other_events_are_ignored_with_the_reason(
    listener: Listener, event: str, change: dict[str, Any], reason: str
) -> None:
    payload = push_payload(**change)
    response = listener.deliver(payload, event=event)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "ignored"
    assert reason in body["reason"]
    assert listener.git.calls == []
    assert listener.deploys() == 0


def test_classify_needs_a_commit_id_in_a_push() -> None:
    decision = classify("push", {"ref": "refs/heads/main", "after": "HEAD~1"}, "d", "main")
    assert decision.status == 400 and decision.push is None


def test_a_form_encoded_delivery_is_refused_with_the_fix(listener: Listener) -> None:
    response = listener.deliver(b"payload=%7B%7D", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/json" in response.get_json()["error"]


def test_a_delivery_without_an_id_is_refused(listener: Listener) -> None:
    assert listener.deliver({"zen": "x"}, event="ping", delivery="").status_code == 400


# -- deploying ----------------------------------------------------------------------------------
def test_a_valid_push_is_accepted_within_a_second_and_deployed(
    deploying: Listener, rig: DeployRig
) -> None:
    first = rig.deployed()
    new = rig.commit("Add tasks")
    started = time.monotonic()
    response = deploying.deliver(rig.push_payload(first, new))
    assert time.monotonic() - started < 1.0
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and body["after"] == new
    assert deploying.queue.wait_idle(30)
    record = deploying.deployer.history.get(body["deploy_id"])
    assert record is not None and record.status == DEPLOYED, record.error_tail
    assert record.delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert record.before_sha == first
    assert rig.wait_for_bot(new)
    health = deploying.client.get("/health", headers=AUTH).get_json()
    assert health["deployed_commit"] == new and health["bot"]["commit"] == new
    assert health["last_deploy"]["status"] == DEPLOYED
    assert health["last_deploy"]["id"] == body["deploy_id"]


def test_a_redelivery_is_answered_duplicate_and_deploys_once(
    deploying: Listener, rig: DeployRig
) -> None:
    new = rig.commit("Add tasks")
    payload = rig.push_payload(rig.deployed(), new)
    assert deploying.deliver(payload, delivery="same-id").status_code == 202
    again = deploying.deliver(payload, delivery="same-id")
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate"
    assert deploying.queue.wait_idle(30)
    assert [r.status for r in deploying.deployer.history.recent()] == [DEPLOYED]


def test_health_reports_the_deployed_commit_and_the_bot(
    deploying: Listener, rig: DeployRig
) -> None:
    response = deploying.client.get("/health", headers=AUTH)
    assert response.status_code == 200
    body = response.get_json()
    assert body["deployed_commit"] == rig.deployed()
    assert body["bot_ready"] is True
    assert body["bot"]["commit"] == rig.deployed()
    assert body["branch"] == "main" and body["deploying"] is False
    assert body["last_deploy"] is None


def test_create_app_refuses_to_run_without_a_secret(tmp_path: Path) -> None:
    from concord.config import SettingsError

    settings = WebhookSettings(repo_dir=tmp_path, deploy_db=tmp_path / "deploy.db")
    deployer = Deployer(settings, DeployHistory(settings.deploy_db))
    with pytest.raises(SettingsError, match="CONCORD_WEBHOOK_SECRET"):
        create_app(settings, DeployQueue(deployer))


# -- through waitress ---------------------------------------------------------------------------
def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text) if text.startswith(b"{") else {"text": text.decode()}


def test_five_pushes_at_once_through_waitress_deploy_one_at_a_time_ending_on_the_newest(
    rig: DeployRig,
) -> None:
    history = DeployHistory(rig.deploy_db)
    history.create()
    deployer = Deployer(rig.settings(), history, health_timeout=5.0, poll_interval=0.02)
    queue = DeployQueue(deployer)
    server = build_server(rig.settings(host="127.0.0.1"), queue, port=0)
    port = server.effective_port  # type: ignore[union-attr]
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        shas = [rig.deployed()]
        for n in range(5):
            shas.append(rig.commit(f"Change {n}"))
        url = f"http://127.0.0.1:{port}/github"
        results: list[tuple[int, dict[str, Any]]] = []

        def send(i: int) -> None:
            body = json.dumps(rig.push_payload(shas[i - 1], shas[i])).encode()
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": f"delivery-{i}",
                "X-Hub-Signature-256": sign(SECRET, body),
            }
            results.append(post(url, body, headers))

        senders = [threading.Thread(target=send, args=(i,)) for i in range(1, 6)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(10)
        assert sorted(status for status, _ in results) == [202] * 5
        assert queue.wait_idle(30)

        assert rig.deployed() == shas[5]
        assert rig.wait_for_bot(shas[5])
        records = history.recent()
        assert len(records) == 5
        assert {r.status for r in records} <= {DEPLOYED, SUPERSEDED, SKIPPED}
        ran = sorted((r.started_at, r.finished_at) for r in records if r.status == DEPLOYED)
        for (_, end), (start, _) in itertools.pairwise(ran):
            assert end is not None and start is not None and end <= start
        newest = [r for r in records if r.target_sha == shas[5]]
        assert [r.status for r in newest] == [DEPLOYED]

        status, health = urllib_get(f"http://127.0.0.1:{port}/health")
        assert status == 200 and health["deployed_commit"] == shas[5]
        # waitress itself refuses an oversized body as soon as Content-Length says so.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.putrequest("POST", "/github")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(5 * 1024 * 1024))
        connection.endheaders()
        assert connection.getresponse().status == 413
        connection.close()
    finally:
        # Closed from inside waitress's loop: closing from this thread races its select().
        server.trigger.pull_trigger(server.close)  # type: ignore[union-attr]
        serving.join(5)
        server.task_dispatcher.shutdown()  # type: ignore[union-attr]
    assert not serving.is_alive()


def urllib_get(url: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers=AUTH)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())
