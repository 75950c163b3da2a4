"""The digest's trend chart: weekly outside-in share over 8 weeks, overall and per channel (PNG)."""

from __future__ import annotations

from pathlib import Path

from .digest import Digest


def alt_text(d: Digest) -> str:
    points = ", ".join(f"{t['week']}: {t['overall']:.0%}" for t in d.trend if t["overall"] is not None)
    return f"Weekly share of proposals led outside-in, last 8 weeks. {points or 'No proposals in this period.'}"


def render_chart(d: Digest, path: str | Path) -> Path:
    """Write the PNG and return its path (matplotlib's headless Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weeks = [t["week"][-3:] for t in d.trend]
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    overall = [t["overall"] * 100 if t["overall"] is not None else float("nan") for t in d.trend]
    xs = list(range(len(weeks)))
    ax.plot(xs, overall, marker="o", linewidth=2.5, color="#2c5f2d", label="all channels")
    channels = sorted({c for t in d.trend for c in t["channels"]})
    for chan in channels[:6]:
        values = [t["channels"].get(chan, float("nan")) * 100 for t in d.trend]
        ax.plot(xs, values, marker=".", linewidth=1, alpha=0.7, label=chan)
    ax.set_xticks(xs, weeks)
    ax.set_ylim(0, 100)
    ax.set_ylabel("% outside-in")
    ax.set_title(f"Proposals led outside-in — 8 weeks to {d.week}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out
