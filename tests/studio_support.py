"""Helpers shared by the studio's tests (tests/studio/)."""

from __future__ import annotations

import time

import pytest

TOKEN = "test-token-123"
BASE = "http://127.0.0.1:8765"


def wait_for(condition, what: str, timeout: float = 30.0):
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` seconds (no timing is asserted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")
