"""The monitoring examples in deploy/monitoring load, and every metric they (and the docs) name
is one the bot or the listener exports: a renamed metric cannot leave a silent panel or rule."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from concord.clock import ManualClock
from concord.metrics import BotMetrics
from concord.webhook.history import DEPLOYED, DeployHistory
from concord.webhook.monitor import ListenerMetrics

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "deploy" / "monitoring"
NAMED_IN = [
    MONITORING / "prometheus.yml",
    MONITORING / "concord-alerts.yml",
    MONITORING / "grafana-dashboard.json",
    ROOT / "deploy" / "README.md",
    ROOT / "docs" / "ARCHITECTURE.md",
    ROOT / "README.md",
]
METRIC = re.compile(r"\bconcord_[a-z0-9_]+")
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("", "_bucket", "_count", "_sum"),  # the bare name: how the docs say it
    "gauge": ("",),
}


def exported_names(tmp_path: Path) -> set[str]:
    """Every series name the two registries can export, with the type's suffixes."""
    bot = BotMetrics()
    bot.last_backup = 1.0  # its series exists once a backup succeeded
    history = DeployHistory(tmp_path / "deploy.db")
    history.create()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    deploy_id = history.add(source="webhook", branch="main", target_sha="a" * 40, now=now)
    history.finish(deploy_id, DEPLOYED, now)
    listener = ListenerMetrics(history, tmp_path / "health.json", ManualClock(now))
    names: set[str] = set()
    for registry in (bot.registry, listener.registry):
        for family in registry.collect():
            names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def test_the_dashboard_has_one_panel_per_operator_question() -> None:
    dashboard: dict[str, Any] = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in panels}
    for question in (
        "Is it up?",
        "Is it fast?",
        "Did the jobs run?",
        "Are backups fresh?",
        "Did the last deploy work?",
    ):
        assert question in titles
    for p in panels:
        if p["type"] == "row":
            continue
        assert p["targets"] and all(t["expr"].strip() for t in p["targets"])
        assert p["datasource"]["uid"] == "${datasource}"


def test_the_prometheus_examples_load() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"] == ["concord-alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"concord-bot", "concord-webhook"}
    assert jobs["concord-webhook"]["authorization"]["type"] == "Bearer"
    rules = yaml.safe_load((MONITORING / "concord-alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert len({rule["alert"] for rule in alerts}) == len(alerts)
    for rule in alerts:
        assert rule["expr"].strip() and rule["annotations"]["summary"]


def test_every_metric_named_in_the_examples_and_docs_is_exported(tmp_path: Path) -> None:
    exported = exported_names(tmp_path)
    named: dict[str, set[str]] = {}
    for path in NAMED_IN:
        for name in METRIC.findall(path.read_text(encoding="utf-8")):
            named.setdefault(name, set()).add(path.name)
    unknown = {name: files for name, files in named.items() if name not in exported}
    assert unknown == {}
    used = set(named)
    for question in (
        "concord_interaction_ack_seconds_bucket",
        "concord_job_runs_total",
        "concord_backup_last_success_timestamp_seconds",
        "concord_webhook_last_deploy_ok",
        "concord_webhook_bot_ready",
    ):
        assert question in used
