"""Fixtures for the webhook tests: the deploy rig and a local stand-in for Discord's webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.webhook.deploy_rig import DeployRig, NotifyServer


@pytest.fixture(scope="session")
def rig_template(tmp_path_factory: pytest.TempPathFactory) -> DeployRig:
    """The repositories built once; each test gets its own copy (git is the slow part)."""
    template = DeployRig(tmp_path_factory.mktemp("rig-template"))
    template.build_repositories()
    return template


@pytest.fixture
def rig(tmp_path: Path, rig_template: DeployRig) -> Iterator[DeployRig]:
    deploy_rig = DeployRig(tmp_path)
    try:
        deploy_rig.create(rig_template)
        yield deploy_rig
    finally:
        deploy_rig.stop()


@pytest.fixture
def notify_server() -> Iterator[NotifyServer]:
    holder: list[NotifyServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            record = holder[0]
            record.headers.append(dict(self.headers.items()))
            record.messages.append(json.loads(body))
            record.arrived.set()
            self.send_response(record.status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    holder.append(NotifyServer(url=f"http://{host}:{port}/api/webhooks/1/token-xyz"))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
