"""Real ``coach`` processes for end-to-end and fault tests: free ports, start, stop, kill.

One place for what every process-driving test needs: a free port on 127.0.0.1, a
``python -m bot.cli …`` child with this checkout first on its path and its output in a
log file, a Ctrl-C stop that falls back to SIGKILL, and a SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

__all__ = ["ROOT", "free_port", "kill", "start_coach", "stop"]

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_coach(args: list[str], *, env: dict[str, str], workdir: Path,
                log: Path) -> subprocess.Popen[bytes]:
    """``python -m bot.cli *args`` in ``workdir``, stdout and stderr into ``log``.

    ``env`` is laid over this process's environment, with this checkout on PYTHONPATH.
    """
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=workdir,
                                env=full_env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    """SIGINT, as Ctrl-C does; SIGKILL if it has not exited after ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


def kill(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGKILL: no clean-up, no chance to commit anything."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=timeout)
