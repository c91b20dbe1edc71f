"""A PNG of an advisor's practice history: total score per session and by technique."""

from __future__ import annotations

import io
from typing import Any

__all__ = ["progress_png"]

TECHNIQUES = ("restate", "acknowledge", "compliment", "answer_fact", "benefit_first", "advance")


def progress_png(progress: Any, *, width_px: int = 900, height_px: int = 500) -> bytes:
    """Line chart of session totals and the main techniques' pass rates (ASCII labels only)."""
    from matplotlib.figure import Figure

    dpi = 100
    # the object API (no pyplot): no global figure state, safe off the event loop
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax = fig.subplots()
    xs = list(range(1, len(progress.history) + 1))
    totals = [total or 0 for _, _, total, _ in progress.history]
    ax.plot(xs, totals, marker="o", linewidth=2.5, label="total")
    for technique in TECHNIQUES:
        values = [per.get(technique) for _, _, _, per in progress.history]
        if any(v is not None for v in values):
            ax.plot(xs, [v if v is not None else float("nan") for v in values],
                    linewidth=1, alpha=0.7, label=technique)
    ax.set_ylim(0, 105)
    ax.set_xlabel("session")
    ax.set_ylabel("score / % passed")
    ax.set_xticks(xs)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, ncol=2)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
