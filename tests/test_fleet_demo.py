"""``exchange-async demo --processes N`` runs a real fleet: the workers lease the accounts
themselves, one can be killed mid-run, and the summary counts what a consumer group read."""

from __future__ import annotations

import json

import pytest
from test_demo import needs_redis_server, run_demo_cli


@pytest.mark.slow  # seconds of real demo time in worker processes
async def test_a_worker_killed_mid_run_loses_no_event_and_its_accounts_move() -> None:
    needs_redis_server()
    code, out, err = await run_demo_cli(
        "--processes", "3", "--accounts", "9", "--duration", "12", "--settle", "15",
        "--kill-one-after", "3", "--json",
        timeout=120,
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    fleet = summary["fleet"]
    assert fleet["killed"] in ("worker-1", "worker-2", "worker-3")
    assert fleet["accounts_moved"] >= 1
    assert fleet["polled_again_within_seconds"] <= 10.0
    assert fleet["events_lost"] == fleet["duplicates_removed"] == fleet["contradictions"] == 0
    assert fleet["events_read"] >= summary["orders"]["initial"]
    assert summary["check"]["accounts"] == 9  # every account, read back from the stream
    assert summary["check"]["lost"] == summary["check"]["invented"] == 0
    assert summary["events"]["AccountSynced"] == 9  # once per account, takeover or not
    assert summary["limit_violations"] == 0
    assert "exited without its report" not in err  # killed on purpose: not a failure
    assert "one is killed after 3 s" in err


async def test_kill_one_after_needs_processes() -> None:
    code, out, err = await run_demo_cli("--kill-one-after", "3")
    assert code == 2
    assert out == ""
    assert "--kill-one-after needs --processes" in err
