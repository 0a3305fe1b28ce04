"""Server subprocesses: started with a port printed on stdout, stopped by closing stdin."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ._common import ROOT

__all__ = ["Server", "server_process"]


@dataclass(frozen=True, slots=True)
class Server:
    """A running server subprocess."""

    port: int
    proc: subprocess.Popen[str]

    def ask(self, line: str) -> str:
        """Send one line on its stdin, return its next stdout line."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline()


@contextmanager
def server_process(module: str, args: Sequence[str] = ()) -> Iterator[Server]:
    """Run ``python -m module args`` until the block ends.

    The module prints its port on the first stdout line and exits when stdin closes.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip():
            raise RuntimeError(f"{module} did not start (exit code {proc.wait(10)})")
        yield Server(int(line.split()[0]), proc)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            proc.kill()
            proc.wait()
