"""The digest's trend chart: weekly outside-in share over 8 weeks (fewer in a new workspace), overall and per channel
(PNG)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .digest import MIN_SHARE, Digest, of


def span(d: Digest) -> str:
    """The weeks drawn: '8 weeks to 2026-W49'; in a workspace whose first check is more recent, from that week on
    ('3 weeks to 2026-W49, since the coach's first week'; '2026-W49, the coach's first week')."""
    if len(d.trend) >= 8 or not d.first_week:
        return f"{len(d.trend) or 8} weeks to {d.week}"
    if len(d.trend) == 1:
        return f"{d.week}, the coach's first week"
    return f"{len(d.trend)} weeks to {d.week}, since the coach's first week"


def alt_text(d: Digest) -> str:
    points = ", ".join(f"{t['week']}: {of(round(t['overall'] * t['n']), t['n'])}" for t in d.trend
                       if t["overall"] is not None)
    return f"Weekly share of proposals led outside-in, {span(d)}. {points or 'No proposals in this period.'}"


ALL_COLOUR = "#1b4d1c"  # dark green, thick: every channel together
OTHER_COLOUR = "#8c8c8c"  # grey, dashed, square markers: channels too small to name, grouped
# A named channel's colour and marker, chosen by its id (see channel_styles): Okabe-Ito's six, then Paul Tol's wine,
# indigo and olive; no grey, no dark green, no square. More styles than lines drawn, so two channels seldom ask for
# the same one.
CHANNEL_STYLES = (("#0072b2", "o"), ("#e69f00", "^"), ("#cc79a7", "D"), ("#d55e00", "v"), ("#56b4e9", "P"),
                  ("#009e73", "X"), ("#882255", "<"), ("#332288", ">"), ("#999933", "h"))
MAX_CHANNEL_LINES = 6  # more named channels than this are counted in "other channels"


def _percent(value: float | None) -> float:
    return value * 100 if value is not None else float("nan")


def group_lines(d: Digest) -> list[tuple[str, list[float | None], list[int]]]:
    """The group lines worth drawing beside "all channels", in drawing order: the named channels with the most drafts
    over the weeks drawn (at most MAX_CHANNEL_LINES), then "other", which holds every channel not drawn
    on its own: a named channel past the colours is folded into it, never silently dropped. A group whose share
    equals "all channels" in every week it has one (it was the only group: say every draft came from ungrouped
    channels) would hide exactly under that line while the legend still listed it, so it is left out. Each line
    comes with its share and its number of drafts per week."""
    drafts: dict[str, int] = {}
    for t in d.trend:
        for chan, n in t.get("sizes", {}).items():
            drafts[chan] = drafts.get(chan, 0) + n
    named = sorted({c for t in d.trend for c in t["channels"] if c != "other"}, key=lambda c: (-drafts.get(c, 0), c))
    drawn = named[:MAX_CHANNEL_LINES]
    lines = [(chan, [t["channels"].get(chan) for t in d.trend], [t["sizes"].get(chan, 0) for t in d.trend])
             for chan in sorted(drawn)]
    rest = [_rest(t, drawn) for t in d.trend]
    lines.append(("other", [share for share, _ in rest], [n for _, n in rest]))
    return [(chan, values, sizes) for chan, values, sizes in lines
            if any(v is not None and (t["overall"] is None or abs(v - t["overall"]) > 1e-9)
                   for v, t in zip(values, d.trend, strict=True))]


def _preference(channel: str) -> list[int]:
    """The channel's own order of CHANNEL_STYLES, from its id alone (sha256: Python's hash() changes per process)."""
    return sorted(range(len(CHANNEL_STYLES)),
                  key=lambda i: hashlib.sha256(f"{channel}/{i}".encode()).digest())


def channel_styles(channels: list[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) for each channel drawn: its first choice by id, so a channel keeps its colour whichever
    others are drawn beside it from week to week (it was given the next colour in alphabetical order of the
    channels drawn that week). Two channels drawn together never share one: when both ask for the same, the one
    with the smaller id keeps it and the other takes its own next choice."""
    styles: dict[str, tuple[str, str]] = {}
    taken: set[int] = set()
    for chan in sorted(channels):
        i = next(i for i in _preference(chan) if i not in taken)
        taken.add(i)
        styles[chan] = CHANNEL_STYLES[i]
    return styles


def _rest(week: dict, drawn: list[str]) -> tuple[float | None, int]:
    """The outside-in share and number of one week's drafts outside the channels drawn on their own; (None, 0) when
    no group that may be shown is among them (the small channels alone, fewer than MIN_POSTERS people, stay
    hidden)."""
    if not [c for c in week["channels"] if c not in drawn]:
        return None, 0
    sizes = week["sizes"]
    # All drafts minus those drawn on their own: channels too small to show with MIN_POSTERS people count here too.
    n = week["n"] - sum(sizes[c] for c in drawn if c in sizes)
    outside_in = round(week["overall"] * week["n"]) - sum(round(week["channels"][c] * sizes[c])
                                                           for c in drawn if c in sizes)
    return (outside_in / n if n else None), n


def _plot(ax, xs: list[int], values: list[float | None], sizes: list[int], **style) -> bool:  # noqa: ANN001
    """One line through the weeks with MIN_SHARE drafts or more; a week with fewer is an open marker off the line,
    so no trend is drawn through a share that one draft can swing. True if there was such a week."""
    enough = [_percent(v) if n >= MIN_SHARE else float("nan") for v, n in zip(values, sizes, strict=True)]
    few = [_percent(v) if n < MIN_SHARE else float("nan") for v, n in zip(values, sizes, strict=True)]
    ax.plot(xs, enough, **style)
    if all(y != y for y in few):  # NaN everywhere: every week had enough drafts
        return False
    ax.plot(xs, few, linestyle="none", marker=style.get("marker"), markersize=style.get("markersize", 6),
            markerfacecolor="white", markeredgecolor=style["color"], markeredgewidth=1.5, zorder=style.get("zorder"))
    return True


def draw(d: Digest, names: dict[str, str] | None = None):  # noqa: ANN201 - a matplotlib Figure, imported lazily
    """The chart as a matplotlib figure (Agg backend): all channels (thick, dark green), each named channel that
    differs from it (its own colour and marker, the same every week), "other channels" (grey, dashed) where it differs too; the legend outside
    the plot; under each week, how many proposals it counts; a week with fewer than MIN_SHARE in a line is an
    open marker that the line does not pass through."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = names or {}
    fig, ax = plt.subplots(figsize=(9, 3.8), dpi=100)
    xs = list(range(len(d.trend)))
    # Proposals, as the headline counts them: the drafts that proposed nothing are in no share drawn here. The word
    # goes once in the axis label: "23 proposals" under each of 8 weeks ran into the next week's.
    ticks = [f"{t['week'][-3:]}\n{t['n']}" for t in d.trend]
    few = _plot(ax, xs, [t["overall"] for t in d.trend], [t["n"] for t in d.trend], marker="o", linewidth=3,
                color=ALL_COLOUR, label="all channels", zorder=5)
    lines = group_lines(d)
    styles = channel_styles([chan for chan, *_ in lines if chan != "other"])
    for chan, values, sizes in lines:
        if chan == "other":
            few |= _plot(ax, xs, values, sizes, marker="s", markersize=4, linewidth=1.5, linestyle="--",
                         color=OTHER_COLOUR, label="other channels (grouped)")
        else:
            colour, marker = styles[chan]
            few |= _plot(ax, xs, values, sizes, marker=marker, markersize=5, linewidth=1.5, color=colour,
                         label=names.get(chan, chan))
    if few:  # the open markers, explained in the legend
        ax.plot([], [], linestyle="none", marker="o", markerfacecolor="white", markeredgecolor="#555555",
                label=f"open: fewer than {MIN_SHARE} proposals,\ntoo few for a share")
    ax.set_xticks(xs, ticks, fontsize=8)
    ax.set_xlabel("week, and the proposals checked in it", fontsize=8)
    ax.set_xlim(-0.4, len(xs) - 0.6)
    ax.set_ylim(-4, 104)  # a point at 0% or 100% is drawn whole, not cut in half by the frame
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("% of proposals led outside-in")
    ax.set_title(f"Proposals led outside-in — {span(d)}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False)
    fig.tight_layout()
    return fig


def render_chart(d: Digest, path: str | Path, names: dict[str, str] | None = None) -> Path:
    """Write the PNG of ``draw`` and return its path."""
    fig = draw(d, names)  # sets the Agg backend before pyplot is imported here
    import matplotlib.pyplot as plt

    out = Path(path)
    fig.savefig(out, format="png", bbox_inches="tight")
    plt.close(fig)
    return out
