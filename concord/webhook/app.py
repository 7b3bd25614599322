"""The GitHub webhook listener: ``POST /github`` queues a deploy, ``GET /health`` reports
``{"ok": true|false}`` to anyone and the detail (commit, pid, branch, last deploy) only with
``Authorization: Bearer <CONCORD_WEBHOOK_SECRET>``.

Order of checks on ``POST /github``, each one before anything else happens:

1. a body over 1 MB -> 413 (nothing is read past the limit);
2. ``X-Hub-Signature-256`` must be the HMAC-SHA256 of the raw body under the shared secret,
   compared in constant time -> otherwise 401, logged without the body or the secret;
3. a redelivered ``X-GitHub-Delivery`` id, or a body seen before under another id (a replay:
   the signature covers the body, not the id) -> 200 "duplicate";
4. ``ping`` -> 200; a push to the deploy branch -> 202 "queued" (the deploy runs in the
   background); anything else -> 202 "ignored" with the reason.

``GET /metrics`` serves the listener's Prometheus metrics (``concord.webhook.monitor``) only with
the same ``Authorization: Bearer`` secret as the detailed health; every refusal above is counted
there by reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request
from prometheus_client.exposition import choose_encoder
from werkzeug.exceptions import RequestEntityTooLarge

from concord.clock import Clock
from concord.health import all_ready, read_health
from concord.webhook.deployer import Deployer, DeployQueue, PushRequest
from concord.webhook.git import SHA
from concord.webhook.history import CommitInfo, DeployHistory, record_as_dict
from concord.webhook.monitor import ListenerMetrics
from concord.webhook.settings import WebhookSettings

log: logging.Logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_DELIVERY_ID = 100
SIGNATURE_HEADER = "X-Hub-Signature-256"
ZERO_SHA: frozenset[str] = frozenset({"0" * 40, "0" * 64})


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(
        sign(secret, body).encode("ascii"), header.encode("utf-8", "replace")
    )


def _authorised(secret: str, header: str | None) -> bool:
    """``Authorization: Bearer <the webhook secret>``, compared in constant time."""
    if not header or not header.startswith("Bearer "):
        return False
    offered = header.removeprefix("Bearer ").strip().encode("utf-8", "replace")
    return hmac.compare_digest(offered, secret.encode("utf-8"))


@dataclass(frozen=True)
class Decision:
    """What to answer a signed delivery, and the push to deploy if there is one."""

    status: int
    body: dict[str, Any]
    outcome: str
    push: PushRequest | None = None


def _ignored(reason: str) -> Decision:
    return Decision(202, {"status": "ignored", "reason": reason}, f"ignored: {reason}")


def _commits(payload: Mapping[str, Any]) -> tuple[CommitInfo, ...]:
    found: list[CommitInfo] = []
    raw = payload.get("commits")
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        author = item.get("author")
        name = author.get("name") if isinstance(author, dict) else None
        message = item.get("message")
        title = message.splitlines()[0] if isinstance(message, str) and message else ""
        found.append(CommitInfo(item["id"], name if isinstance(name, str) else "?", title))
    return tuple(found)


def classify(event: str, payload: Mapping[str, Any], delivery_id: str, branch: str) -> Decision:
    """Decide what a signed delivery means; pure, so every case is tested without a server."""
    if event == "ping":
        return Decision(200, {"status": "pong"}, "ping")
    if event != "push":
        return _ignored(f"event {event!r} is not deployed; only push events are")
    ref = payload.get("ref")
    wanted = f"refs/heads/{branch}"
    if ref != wanted:
        return _ignored(f"push to {ref}; only {wanted} is deployed")
    after = payload.get("after")
    if payload.get("deleted") is True or after in ZERO_SHA:
        return _ignored(f"{wanted} was deleted; nothing to deploy")
    if not isinstance(after, str) or not SHA.match(after):
        return Decision(400, {"error": "the push has no valid 'after' commit id"}, "bad payload")
    before = payload.get("before")
    push = PushRequest(
        delivery_id=delivery_id,
        before=before if isinstance(before, str) and SHA.match(before) else None,
        after=after,
        commits=_commits(payload),
    )
    return Decision(202, {"status": "queued", "after": after}, f"deploy {after[:7]}", push)


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def create_app(
    settings: WebhookSettings,
    queue: DeployQueue,
    *,
    clock: Clock | None = None,
    metrics: ListenerMetrics | None = None,
) -> Flask:
    """The listener. Without ``metrics`` it makes its own and follows the deployer's deploys."""
    secret: str = settings.require_secret()
    wall: Clock = clock or Clock()
    deployer: Deployer = queue.deployer
    history: DeployHistory = deployer.history
    if metrics is None:
        metrics = ListenerMetrics(history, settings.health_files, wall)
        deployer.observers.append(metrics.deploy_finished)
    counts: ListenerMetrics = metrics
    app = Flask("concord.webhook")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    def _read_body() -> bytes | None:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return None
        try:
            return request.get_data(cache=True)
        except RequestEntityTooLarge:
            return None

    @app.post("/github")
    def github() -> tuple[Response, int]:
        body = _read_body()
        if body is None:
            counts.delivery_rejected("too_large")
            return _error(413, f"bodies over {MAX_BODY} bytes are refused")
        delivery_id = request.headers.get("X-GitHub-Delivery", "").strip()
        if not signature_valid(secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning(
                "refused a delivery from %s: %s signature",
                request.remote_addr,
                "wrong" if request.headers.get(SIGNATURE_HEADER) else "no",
            )
            counts.delivery_rejected("bad_signature")
            return _error(401, "signature missing or wrong")
        if not delivery_id or len(delivery_id) > MAX_DELIVERY_ID:
            counts.delivery_rejected("no_delivery_id")
            return _error(400, "missing X-GitHub-Delivery header")
        if not request.is_json:
            counts.delivery_rejected("not_json")
            return _error(
                415, "set 'Content type' to application/json in the GitHub webhook settings"
            )
        try:
            payload = json.loads(body)
        except ValueError:
            counts.delivery_rejected("not_json")
            return _error(400, "the body is not JSON")
        if not isinstance(payload, dict):
            counts.delivery_rejected("bad_payload")
            return _error(400, "the body is not a JSON object")
        event = request.headers.get("X-GitHub-Event", "").strip()
        decision = classify(event, payload, delivery_id, settings.branch)
        if decision.status >= 400:
            counts.delivery_rejected("bad_payload")
            return _error(decision.status, decision.body["error"])
        body_sha256 = hashlib.sha256(body).hexdigest()
        if not history.record_delivery(
            delivery_id, event, decision.outcome, wall.now(), body_sha256
        ):
            log.info("delivery %s (%s) was seen before; not acting twice", delivery_id, event)
            counts.delivery_rejected("duplicate")
            return jsonify({"status": "duplicate", "delivery": delivery_id}), 200
        response = dict(decision.body)
        if decision.push is not None:
            response["deploy_id"] = queue.submit(decision.push)
        counts.delivery_accepted(decision.body["status"])
        log.info("delivery %s (%s): %s", delivery_id, event, decision.outcome)
        return jsonify(response), decision.status

    @app.get("/health")
    def health() -> tuple[Response, int]:
        healths = [read_health(path) for path in settings.health_files]
        bot = healths[0] if len(healths) == 1 else healths  # several: one per shard process
        ready = all_ready(healths, wall.now())
        if not _authorised(secret, request.headers.get("Authorization")):
            # Anyone who can reach the listener may ask; only the secret's holder learns more.
            return jsonify({"ok": ready}), 200
        last = history.last_finished()
        return jsonify(
            {
                "ok": ready,
                "status": "ok",
                "branch": settings.branch,
                "deployed_commit": deployer.deployed_commit(),
                "deploying": queue.busy,
                "bot_ready": ready,
                "bot": bot,
                "last_deploy": record_as_dict(last) if last else None,
            }
        ), 200

    @app.get("/metrics")
    def prometheus_metrics() -> Response | tuple[Response, int]:
        if not _authorised(secret, request.headers.get("Authorization")):
            answer, status = _error(401, "send Authorization: Bearer <CONCORD_WEBHOOK_SECRET>")
            answer.headers["WWW-Authenticate"] = 'Bearer realm="concord-webhook"'
            return answer, status
        # The format the scraper asks for (OpenMetrics or text), as prometheus-client's server.
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return Response(encoder(counts.registry), content_type=content_type)

    return app
