"""Regenerate ``0001_initial`` from the models (only while nothing is released).

Once a release has shipped, add new revisions with ``alembic revision
--autogenerate`` instead; this tool exists so the schema can settle first.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from storage.migrate import MIGRATIONS, alembic_config

VERSIONS = MIGRATIONS / "versions"


def main() -> None:
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        config = alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
    for path in VERSIONS.glob("0001_*.py"):
        path.rename(VERSIONS / "0001_initial.py")
        print(f"wrote {VERSIONS / '0001_initial.py'}")


if __name__ == "__main__":
    main()
