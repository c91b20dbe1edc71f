"""A private, throwaway PostgreSQL cluster that a test may stop and start at will.

The suite's own database (``DATABASE_URL``) is shared by every test and must stay up,
so the test that stops PostgreSQL runs against a cluster of its own: ``initdb`` in a
temporary directory, listening on 127.0.0.1 only, durability off for speed. As root
the PostgreSQL tools run as the ``postgres`` user (initdb refuses root), like
``.ci/run`` does. :func:`available` says whether this machine can do it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.processes import free_port

__all__ = ["Cluster", "available"]


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                   key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()])
    if found and Path(found[-1], "initdb").exists():
        return Path(found[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_owner() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def available() -> str | None:
    """None when a private cluster can be started here, else why not."""
    if _bin_dir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            subprocess.run(["id", "-u", "postgres"], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return "running as root without a postgres user to own the cluster"
    return None


class Cluster:
    """``start()`` creates and starts it; ``stop()``/``start()`` again; ``destroy()``."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        assert self.bin is not None, available()
        # its own directory under /tmp, open to the postgres user (pytest's are not)
        self.dir = Path(tempfile.mkdtemp(prefix="coach-faults-pg."))
        self.dir.chmod(0o755)
        self.data = self.dir / "pgdata"
        self.port = free_port()
        self.url = f"postgresql+psycopg://coach@127.0.0.1:{self.port}/coach_faults"
        self._created = False

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*_as_owner(), str(self.bin / tool), *args], check=True, cwd=self.dir,
                       capture_output=True, timeout=120)

    def start(self) -> None:
        if not self._created:
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "sock").mkdir(exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.dir, "postgres")
                shutil.chown(self.dir / "sock", "postgres")
            self._run("initdb", "-D", str(self.data), "-U", "coach", "-A", "trust", "-E", "UTF8",
                      "--no-locale")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "pg.log"), "-w",
                  "-t", "60", "start", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.dir / 'sock'} -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off")
        if not self._created:
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "coach",
                      "coach_faults")
            self._created = True

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when the server goes away."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

