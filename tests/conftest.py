"""Shared pytest configuration: the end-to-end `sandbox` fixture (local Discord emulator +
the real bot) from concord.sandbox.testing."""

pytest_plugins = ["concord.sandbox.testing"]
