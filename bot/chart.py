"""The digest's trend chart: weekly outside-in share over 8 weeks, overall and per channel (PNG)."""

from __future__ import annotations

from pathlib import Path

from .digest import Digest


def alt_text(d: Digest) -> str:
    points = ", ".join(f"{t['week']}: {t['overall']:.0%}" for t in d.trend if t["overall"] is not None)
    return f"Weekly share of proposals led outside-in, last 8 weeks. {points or 'No proposals in this period.'}"


ALL_COLOUR = "#1b4d1c"  # dark green, thick: every channel together
OTHER_COLOUR = "#8c8c8c"  # grey, dashed: channels too small to name, grouped
CHANNEL_COLOURS = ("#0072B2", "#E69F00", "#CC79A7", "#D55E00", "#56B4E9", "#009E73")  # Okabe-Ito, no grey


def render_chart(d: Digest, path: str | Path, names: dict[str, str] | None = None) -> Path:
    """Write the PNG and return its path (matplotlib's headless Agg backend).

    Lines: all channels (thick, dark green), each named channel (its own colour), "other channels" (grey,
    dashed); the legend sits outside the plot; under each week, how many drafts it counts.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = names or {}
    fig, ax = plt.subplots(figsize=(9, 3.8), dpi=100)
    xs = list(range(len(d.trend)))
    ticks = [f"{t['week'][-3:]}\n{t['n']} draft{'s' if t['n'] != 1 else ''}" for t in d.trend]
    nan = float("nan")
    overall = [t["overall"] * 100 if t["overall"] is not None else nan for t in d.trend]
    ax.plot(xs, overall, marker="o", linewidth=3, color=ALL_COLOUR, label="all channels", zorder=5)
    channels = sorted({c for t in d.trend for c in t["channels"] if c != "other"})[: len(CHANNEL_COLOURS)]
    for chan, colour in zip(channels, CHANNEL_COLOURS, strict=False):
        values = [t["channels"][chan] * 100 if chan in t["channels"] else nan for t in d.trend]
        ax.plot(xs, values, marker="o", markersize=4, linewidth=1.5, color=colour, label=names.get(chan, chan))
    if any("other" in t["channels"] for t in d.trend):
        values = [t["channels"]["other"] * 100 if "other" in t["channels"] else nan for t in d.trend]
        ax.plot(xs, values, marker="s", markersize=4, linewidth=1.5, linestyle="--", color=OTHER_COLOUR,
                label="other channels (grouped)")
    ax.set_xticks(xs, ticks, fontsize=8)
    ax.set_xlim(-0.4, len(xs) - 0.6)
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of proposals led outside-in")
    ax.set_title(f"Proposals led outside-in — 8 weeks to {d.week}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png", bbox_inches="tight")
    plt.close(fig)
    return out
