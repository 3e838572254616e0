"""`cipherpost demo` starts its own server, walks through the blog and exits 0."""

from __future__ import annotations

import subprocess
import sys


def test_demo_walks_through_the_blog() -> None:
    done = subprocess.run([sys.executable, "-m", "cipherpost.cli", "demo"], capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for queue in ("Billing-Integration", "Scheduling-Integration", "Prescription-Integration"):
        assert f"received from {queue}: " in done.stdout
    assert "KMSAccessDenied" in done.stdout and "Audit-Integration received nothing" in done.stdout
