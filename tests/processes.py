"""Real ``coach`` processes for end-to-end and fault tests: free ports, start, stop, kill.

One place for what every process-driving test needs: a free port on 127.0.0.1, a
``python -m bot.cli …`` child with this checkout first on its path and its output in a
log file (or a short command run to its end, its output captured), a Ctrl-C stop that
falls back to SIGKILL, and a SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["ROOT", "coach_env", "free_port", "kill", "run_coach", "start_coach", "stop"]

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def coach_env(env: dict[str, str], unset: Iterable[str] = ()) -> dict[str, str]:
    """This process's environment with this checkout on PYTHONPATH, ``env`` laid over it,
    and the names in ``unset`` removed (a variable the test needs to be absent).

    A started bot waits for its search model (``SEARCH_MODEL_BACKGROUND=false``), so what
    a test reads does not depend on how fast training ran; ``env`` may say otherwise."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), "SEARCH_MODEL_BACKGROUND": "false", **env}
    for name in unset:
        full.pop(name, None)
    return full


def start_coach(args: list[str], *, env: dict[str, str], workdir: Path,
                log: Path, unset: Iterable[str] = ()) -> subprocess.Popen[bytes]:
    """``python -m bot.cli *args`` in ``workdir``, stdout and stderr into ``log``.

    The environment is :func:`coach_env` of ``env`` and ``unset``.
    """
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=workdir,
                                env=coach_env(env, unset), stdout=out,
                                stderr=subprocess.STDOUT)


def run_coach(args: list[str], *, env: dict[str, str], workdir: Path, timeout: float,
              unset: Iterable[str] = ()) -> subprocess.CompletedProcess[str]:
    """``python -m bot.cli *args`` run to its end (a command that should exit by itself),
    stdout and stderr captured apart; ``subprocess.TimeoutExpired`` after ``timeout``."""
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=workdir,
                          env=coach_env(env, unset), capture_output=True, text=True,
                          timeout=timeout)


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
