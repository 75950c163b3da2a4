"""``motivecheck eval``: measure an engine on a labelled JSONL set."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from .. import corpus
from ..checker import Checker
from ..engines.recording import RecordingClient, ReplayClient, request_tokens, write_missing
from ..errors import InputError
from ..evaluation import (
    agreement,
    breakdown,
    evaluate,
    format_breakdown,
    format_report,
    format_second_reading,
    second_reading,
)
from ..files import open_private
from ..verdict import LABELS
from .common import add_common, at_least_one, decode, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure the checker on a labelled JSONL file or a corpus file",
                       description='Each line: {"text": ..., "label": ...}, or a corpus file (corpus/*.jsonl, '
                                   "text joined from the corpus text folder). Prints accuracy, per-label "
                                   "precision/recall/F1, macro-F1, a confusion matrix, macro-F1 by genre, "
                                   "calibration, for Slack rows how the channel gate does, and, on rows a second labelling "
                                   "pass covers (the corpus test split), the engine beside a second careful person.")
    p.add_argument("file", metavar="FILE.jsonl", help="labelled drafts, or corpus/passages.jsonl or corpus/slack.jsonl")
    p.add_argument("--split", choices=("train", "dev", "test"), default=None,
                   help="only the rows of this corpus split")
    p.add_argument("--as", dest="mode", choices=("explicit", "channel", "proposal"), default="explicit",
                   help="judge as an explicit check (default), apply the watched-channel gate, or judge every "
                        "draft's motive as one its author says is a proposal")
    p.add_argument("--json", action="store_true", help="print metrics as JSON")
    p.add_argument("--min-f1", type=float, default=None, metavar="X",
                   help="exit 1 when macro-F1 is below X (a regression gate for CI)")
    p.add_argument("--repeat", type=at_least_one, default=1, metavar="N",
                   help="run N times and report how often the runs agree (LLM answers vary)")
    p.add_argument("--errors", action="store_true", help="list the drafts the checker got wrong")
    p.add_argument("--record", metavar="ANSWERS.jsonl", default=None,
                   help="with --engine openai: append each request's hash and the raw answer to this file")
    p.add_argument("--replay", metavar="ANSWERS.jsonl", default=None,
                   help="score recorded answers with no server; rows whose request changed are reported as "
                        "stale, not scored")
    p.add_argument("--missing", metavar="REQUESTS.jsonl", default=None,
                   help="with --replay: write the requests that have no recorded answer (for a server or a reader)")
    add_common(p)
    p.set_defaults(func=run)


def _json_line(path: str, lineno: int, line: str) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None


def load_labelled(path: str, split: str | None = None) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {path}")
    text, _ = decode(p.read_bytes(), path)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    first = _json_line(path, *lines[0]) if lines else {}
    if isinstance(first, dict) and "sha256" in first and "text" not in first:  # a corpus file: join its text
        rows = corpus.load(p.name, labels_dir=p.parent)
        if note := corpus.skipped_note(p.name, rows, split):
            print(f"motivecheck: {note}", file=sys.stderr)
        chosen = [r for r in rows if split is None or r.get("split") == split]
        if not chosen:
            if split is not None and not rows.missing_by_split.get(split):
                raise InputError(_no_split(path, split, {str(r.get("split")) for r in rows} | set(rows.missing_by_split)))
            raise InputError(f"{path}: no row{f' of split {split}' if split else ''} has its text here "
                             "(see corpus/README.md)")
        return chosen
    items, splits = [], set()
    for lineno, line in lines:
        obj = _json_line(path, lineno, line)
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise InputError(f'{path}:{lineno}: expected an object with "text" and "label"')
        if obj.get("label") not in LABELS:
            raise InputError(f"{path}:{lineno}: label must be one of {', '.join(LABELS)}")
        if "split" in obj:
            splits.add(str(obj["split"]))
        if split is None or obj.get("split") == split:
            items.append(obj)
    if not items:
        raise InputError(_no_split(path, split, splits) if lines and split else f"{path} has no labelled drafts")
    return items


def _no_split(path: str, split: str, splits: set[str]) -> str:
    if not splits:
        return f'{path} has no splits (no row has a "split" field): leave out --split'
    return f"{path}: no row has split={split} (its splits: {', '.join(sorted(splits))})"


def _checker(args: argparse.Namespace) -> tuple[Checker, RecordingClient | ReplayClient | None]:
    """The checker, with the LLM's client replaced by a recorder or a replayer when asked."""
    if args.record and args.replay:
        raise InputError("use --record or --replay, not both")
    if args.missing and not args.replay:
        raise InputError("--missing goes with --replay")
    settings = settings_from(args)
    if not (args.record or args.replay):
        return Checker(settings), None
    for flag, path in (("--record", args.record), ("--missing", args.missing)):
        if path:  # created (owner-only) now: a path that cannot be written is one line before any request is sent
            try:
                open_private(path, append=True).close()
            except OSError as exc:
                raise InputError(f"{flag}: cannot write {path}: {exc.strerror or exc}") from None
    if args.engine not in (None, "openai", "auto"):
        raise InputError("--record and --replay measure the LLM road: use --engine openai")
    if args.replay:
        if not settings.llm_configured:  # nothing is sent: the key only switches the LLM road on
            settings = dataclasses.replace(settings, openai_api_key="replay")
        if not Path(args.replay).is_file():
            if not args.missing:
                raise InputError(f"--replay: no such file: {args.replay} (to write the requests it would need "
                                 "answered, add --missing REQUESTS.jsonl)")
            print(f"motivecheck: {args.replay} does not exist yet: every request is unanswered", file=sys.stderr)
        checker = Checker(settings)
        transport: RecordingClient | ReplayClient = ReplayClient(Path(args.replay))
        if not transport.records and Path(args.replay).is_file():
            # Scored alone, the rows the offline prefilter keeps from the LLM read as the LLM road's figures.
            if not args.missing:
                raise InputError(f"--replay: {args.replay} holds no answers (to write the requests it needs answered, "
                                 "add --missing REQUESTS.jsonl)")
            print(f"motivecheck: {args.replay} holds no answers yet: every request is unanswered", file=sys.stderr)
    else:
        if not settings.llm_configured:
            raise InputError("--record needs a server: set OPENAI_API_KEY (and OPENAI_BASE_URL)")
        from ..engines.llm import get_client

        checker = Checker(settings)
        source = f"{settings.model}@{settings.openai_base_url or 'api.openai.com'}"
        transport = RecordingClient(get_client(settings), Path(args.record), source=source)
    checker.llm_transport = transport
    args.engine = "openai"
    return checker, transport


def full_prompt_tokens(checker: Checker, items: list[dict], mode: str) -> int:
    """Estimated prompt tokens if every row went through the full prompt (no prefilter, no first pass)."""
    from ..engines.llm import llm_engine_for
    from ..text import prepare

    engine = llm_engine_for(checker.settings, checker.default_playbook)
    total = 0
    for item in items:
        if item["text"].strip():
            body, _, _ = engine.request(prepare(item["text"], checker.settings.max_chars), mode)
            total += request_tokens(body)
    return total


def run(args: argparse.Namespace) -> int:
    items = load_labelled(args.file, args.split)
    checker, transport = _checker(args)
    runs: list[list[str]] = []
    fallbacks = 0
    confidences: list[float | None] = []
    unscored: dict[str, int] = {}
    keep = [True] * len(items)
    for n in range(args.repeat):
        predicted = []
        for i, item in enumerate(items):
            if transport is not None:
                transport.current_id = item.get("id") or f"line-{i + 1}"
            missing_before = len(transport.missing) if isinstance(transport, ReplayClient) else 0
            try:
                verdict, _usage = checker.assess(item["text"], engine=args.engine, mode=args.mode)
                predicted.append(verdict.label)
                fallbacks += verdict.fallback is not None
                if n == 0:
                    confidences.append(verdict.confidence)
            except InputError:
                predicted.append("not-a-proposal")  # an empty draft is nothing to coach
                if n == 0:
                    confidences.append(None)
            if isinstance(transport, ReplayClient) and len(transport.missing) > missing_before:
                keep[i] = False  # a request without its recorded answer: not scored, said below
                why = transport.missing[-1]["why"]
                unscored[why] = unscored.get(why, 0) + 1
        runs.append(predicted)
    if not all(keep):
        runs = [[p for p, k in zip(run, keep, strict=True) if k] for run in runs]
        confidences = [c for c, k in zip(confidences, keep, strict=True) if k]
        scored = [item for item, k in zip(items, keep, strict=True) if k]
    else:
        scored = items
    if not scored:
        if args.missing and isinstance(transport, ReplayClient):
            write_missing(Path(args.missing), transport.missing)
            print(f"no row has a recorded answer; wrote {len(transport.missing)} requests to {args.missing}")
            return 0
        raise InputError("no row has a recorded answer to score")
    metrics = evaluate(zip([i["label"] for i in scored], runs[0], strict=True))
    metrics.update(breakdown(scored, runs[0], confidences))
    if second := second_reading(scored, runs[0]):
        metrics["second_reading"] = second
    metrics["engine"] = checker.resolve_engine(args.engine)
    metrics["fallbacks"] = fallbacks
    if transport is not None:
        metrics["llm"] = _llm_figures(checker, transport, items, args, unscored)
    if args.repeat > 1:
        metrics["repeat"] = args.repeat
        metrics["agreement"] = agreement(runs)
    errors = [{"id": i.get("id"), "expected": i["label"], "predicted": p, "text": i["text"]}
              for i, p in zip(scored, runs[0], strict=True) if i["label"] != p]
    if args.json:
        out = dict(metrics)
        if args.errors:
            out["errors"] = errors
        print(json.dumps(out, indent=2))
    else:
        print(f"engine: {metrics['engine']}" + (f" ({fallbacks} fallbacks to rules)" if fallbacks else ""))
        print(format_report(metrics))
        print(format_breakdown(metrics))
        if "second_reading" in metrics:
            print(format_second_reading(metrics["second_reading"]))
        if "llm" in metrics:
            print(_format_llm(metrics["llm"]))
        if args.repeat > 1:
            print(f"\nagreement across {args.repeat} runs: {metrics['agreement']:.3f}")
        if args.errors:
            print("\nerrors:")
            for e in errors:
                print(f"  {e['id']}: expected {e['expected']}, got {e['predicted']}: {e['text'][:100]!r}")
    if args.min_f1 is not None and metrics["macro_f1"] < args.min_f1:
        print(f"macro-F1 {metrics['macro_f1']:.3f} is below --min-f1 {args.min_f1}", file=sys.stderr)
        return 1
    return 0


def _llm_figures(checker: Checker, transport: RecordingClient | ReplayClient, items: list[dict],
                 args: argparse.Namespace, unscored: dict[str, int]) -> dict:
    """Who answered, what was not scored and why, and prompt tokens per 1,000 rows on this road and on the
    road that sends every row through the full prompt."""
    n = max(1, len(items) * args.repeat)
    tally = transport.tally
    out: dict = {"sources": getattr(transport, "sources", {"recorded": sum(tally.calls.values())}),
                 "unscored": unscored, "calls": tally.calls,
                 "tokens_estimated": tally.estimated,
                 "prompt_tokens_per_1000": {k: round(v * 1000 / n) for k, v in tally.prompt_tokens.items()},
                 "prompt_tokens_per_1000_all_full_prompt": round(
                     full_prompt_tokens(checker, items, args.mode) * 1000 / len(items)) if items else 0}
    out["prompt_tokens_per_1000"]["total"] = sum(out["prompt_tokens_per_1000"].values())
    if isinstance(transport, ReplayClient) and args.missing:
        write_missing(Path(args.missing), transport.missing)
        out["missing_written"] = {"file": args.missing, "requests": len(transport.missing)}
    return out


def _format_llm(llm: dict) -> str:
    sources = ", ".join(f"{k} ({v})" for k, v in llm["sources"].items() if v)
    lines = ["", "answers from: " + (sources or "none (every row scored here was judged offline)")]
    if llm["unscored"]:
        lines.append("not scored (no recorded answer for the request as sent now): "
                     + ", ".join(f"{v} {k}" for k, v in llm["unscored"].items()))
    est = " (estimated at 4 characters a token)" if llm["tokens_estimated"] else ""
    per = llm["prompt_tokens_per_1000"]
    lines.append(f"prompt tokens per 1,000 rows{est}: " + ", ".join(f"{k} {v:,}" for k, v in per.items())
                 + "; every row through the full prompt (always estimated): "
                 + f"{llm['prompt_tokens_per_1000_all_full_prompt']:,}")
    if "missing_written" in llm:
        lines.append(f"wrote {llm['missing_written']['requests']} unanswered requests to {llm['missing_written']['file']}")
    return "\n".join(lines)
