"""``motivecheck train``: refit the trained engine's heads from the real-text corpus."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__, corpus
from ..engines.trained import HEAD
from ..errors import InputError
from ..playbook import load_playbook
from ..store import Store
from ..train import CORPUS_FEATURES, corpus_set, retrain_workspace, save_corpus_features, train
from ..verdict import LABELS
from .common import DB_HELP, BadLines, decode, store_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="refit the trained engine from the corpus (train split; dev for thresholds)",
                       description="Fit the motive head and the channel gate on corpus/*.jsonl (train split), "
                                   "choose L2, temperature and thresholds on the dev split, and write the heads. "
                                   "The test split is never read.")
    p.add_argument("--out", default=None, metavar="FILE",
                   help=f"write the heads to FILE and nothing else (default: replace {HEAD} and the saved corpus "
                        "features beside it)")
    p.add_argument("--allow-partial", action="store_true",
                   help="replace the shipped head even though some corpus rows have no text here and no usable "
                        "saved features (it learns from fewer rows)")
    p.add_argument("--playbook", default="outside-in", help="playbook whose cues feed the heads")
    p.add_argument("--workspace", metavar="T…", help="refit this workspace's head from its labels "
                   "(motivecheck label) on top of the corpus; kept only if it helps and the corpus holds")
    p.add_argument("--db", default=None, help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=run)

    lab = sub.add_parser("label", help="record labelled drafts for a workspace from a JSONL file",
                         description='Each line: {"text": ..., "label": ...} with optional "channel" and "user". '
                                     "Bad lines are reported with their line number and skipped.")
    lab.add_argument("file", metavar="FILE.jsonl", help="the labelled drafts")
    lab.add_argument("--workspace", required=True, metavar="T…", help="the workspace (team ID) the labels belong to")
    lab.add_argument("--db", default=None, help=DB_HELP)
    lab.add_argument("--json", action="store_true", help="print the counts as JSON")
    lab.set_defaults(func=run_label)

    model = sub.add_parser("model", help="the trained heads in use: list, rollback")
    msub = model.add_subparsers(dest="model_command", metavar="SUBCOMMAND", required=True)
    ls = msub.add_parser("list", help="head versions per workspace")
    ls.add_argument("--workspace", metavar="T…", help="only this workspace's heads")
    ls.add_argument("--db", default=None, help=DB_HELP)
    ls.add_argument("--json", action="store_true", help="print a JSON array, one object per head")
    ls.set_defaults(func=run_model_list)
    rb = msub.add_parser("rollback", help="use an earlier head for a workspace (default: the one before)")
    rb.add_argument("--workspace", required=True, metavar="T…", help="the workspace (team ID) to roll back")
    rb.add_argument("--to", type=int, default=None, metavar="VERSION", help="version to use; 0 = the shipped head")
    rb.add_argument("--db", default=None, help=DB_HELP)
    rb.set_defaults(func=run_model_rollback)


def _store(args: argparse.Namespace) -> Store:
    return store_from(args)


def run(args: argparse.Namespace) -> int:
    if args.workspace:
        return run_workspace(args)
    started = time.perf_counter()
    out = Path(args.out) if args.out else HEAD
    shipped = out.resolve() == HEAD.resolve()
    playbook = load_playbook(args.playbook)
    data = corpus_set(playbook)  # every row read once, for training and for the saved features
    where = corpus.text_dir()
    if data.left_out:
        line = (f"{data.left_out} of {data.total} corpus rows have no text in {where} and cannot be read from the "
                f"saved features ({data.why})")
        if shipped and not args.allow_partial:
            raise InputError(f"{line}; the shipped head stays: pass --allow-partial to replace it with a head "
                             "learned from fewer rows, or --out FILE to write one elsewhere")
        print(f"motivecheck: {line}; learning from the other rows", file=sys.stderr)
    elif data.filled:
        print(f"motivecheck: {data.filled} of {data.total} corpus rows have no text in {where}; "
              f"their features come from the saved ones ({CORPUS_FEATURES})", file=sys.stderr)
    provenance = {"command": "motivecheck train", **code_version(),
                  "rows": {"corpus": data.total, "read_from_text": data.total - data.without_text,
                           "read_from_saved_features": data.filled, "left_out": data.left_out}}
    try:
        report = train(playbook, data.rows, features=data.features, provenance=provenance)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    report.heads.save(out)
    wrote = [str(out)]
    if shipped and not data.left_out:
        save_corpus_features(data.rows, data.features)
        wrote.append(str(CORPUS_FEATURES))
    elif shipped:
        print(f"motivecheck: kept {CORPUS_FEATURES} as it was (this run read fewer rows)", file=sys.stderr)
    if args.json:
        print(json.dumps({"out": str(out), "wrote": wrote, "seconds": round(time.perf_counter() - started, 1),
                          "rows_without_text": data.without_text, "read_from_saved_features": data.filled,
                          **report.heads.meta}, indent=2))
    else:
        print(report.text)
        print(f"wrote {' and '.join(wrote)} in {time.perf_counter() - started:.1f} s")
    return 0


def code_version() -> dict:
    """The commit of the code that trains (and whether bot/, playbooks/, corpus/ or tests/data/ differ from it), and
    the versions whose arithmetic it uses: what a head records so the next person can tell where it came from."""
    versions = {"motivecheck": __version__, "numpy": np.__version__, "python": platform.python_version()}
    root = str(corpus.ROOT)
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        # The files training writes do not count as changes to what trained them.
        changed = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "bot", "playbooks", "corpus",
                                  "tests/data", f":(exclude){HEAD.relative_to(corpus.ROOT)}",
                                  f":(exclude){CORPUS_FEATURES.relative_to(corpus.ROOT)}"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError, ValueError):
        return {"commit": "unknown (not a git checkout)", **versions}
    return {"commit": commit, "uncommitted_changes": bool(changed), **versions}


def run_workspace(args: argparse.Namespace) -> int:
    """Refit a workspace's head; keep it (as a new active version) only if it passes both checks."""
    try:
        report, version = retrain_workspace(_store(args), load_playbook(args.playbook), args.workspace)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    f = report.figures
    if args.json:
        print(json.dumps({"workspace": args.workspace, "kept": report.kept, "reason": report.reason,
                          "version": version, **f}, indent=2))
    else:
        t, h = f["corpus_test_macro_f1"], f["held_back_accuracy"]
        print(f"workspace {args.workspace}: {f['labels']} labels, {f['held_back']} held back")
        print(f"  held-back accuracy {h[0]:.3f} -> {h[1]:.3f}; corpus test macro-F1 {t[0]:.3f} -> {t[1]:.3f}")
        print(f"  {report.reason}" + (f"; now head v{version}" if version else "; the old head stays"))
    return 0


def run_label(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise InputError(f"no such file: {args.file}")
    rows: list[dict] = []
    bad = BadLines(args.file)
    text, notes = decode(path.read_bytes(), args.file)
    for note in notes:
        print(f"motivecheck: warning: {note}", file=sys.stderr)
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
                raise ValueError('expected an object with a non-empty "text"')
            if obj.get("label") not in LABELS:
                raise ValueError(f"label must be one of {', '.join(LABELS)}")
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            bad.skip(n, f"invalid JSON ({exc.msg})" if isinstance(exc, json.JSONDecodeError) else str(exc))
            continue
        rows.append({"workspace": args.workspace, "text": obj["text"], "label": obj["label"],
                     "channel": str(obj.get("channel") or ""), "user": str(obj.get("user") or "")})
    bad.close()
    if not rows:  # nothing recorded is a failure a script must see
        raise InputError(f"no label recorded: {args.file} has no line with a labelled draft"
                         + (f" ({bad.count} bad line(s), above)" if bad.count else ""))
    added = _store(args).add_labels(rows)
    if args.json:
        print(json.dumps({"workspace": args.workspace, "recorded": added.stored, "skipped": bad.count,
                          "repeated": added.repeated, "replaced": added.replaced}))
        return 0
    print(f"recorded {added.stored} label(s) for {args.workspace}, skipped {bad.count} bad line(s)")
    if added.repeated or added.replaced:
        said = [f"{added.repeated} line(s) repeated the text of an earlier line"] if added.repeated else []
        said += [f"{added.replaced} replaced a label stored before"] if added.replaced else []
        print(f"one label per text, the latest wins: {' and '.join(said)}")
    return 0


def run_model_list(args: argparse.Namespace) -> int:
    heads = _store(args).heads(args.workspace)
    if args.json:
        # The stored JSON string is parsed, not repeated beside its parse (``{**h, ...}`` ran before the pop).
        rows = [{k: v for k, v in h.items() if k != "metrics_json"} | {"metrics": json.loads(h["metrics_json"] or "{}")}
                for h in heads]
        print(json.dumps(rows, indent=2))
        return 0
    if not heads:
        print("no workspace heads: every workspace uses the shipped head (bot/models/head.json)")
    for h in heads:
        m = json.loads(h["metrics_json"] or "{}")
        acc = m.get("held_back_accuracy", [0, 0])
        print(f"{h['workspace']} v{h['version']}{' (active)' if h['active'] else ''}: {m.get('labels', 0)} labels, "
              f"held-back accuracy {acc[0]:.3f} -> {acc[1]:.3f}")
    return 0


def run_model_rollback(args: argparse.Namespace) -> int:
    store = _store(args)
    versions = [h for h in store.heads(args.workspace) if h["workspace"] == args.workspace]
    if not versions:  # nothing to roll back: saying it "now uses the shipped head" would hide a typo
        raise InputError(f"no workspace head for {args.workspace}: it uses the shipped head already "
                         "(motivecheck model list shows the workspaces that have one)")
    target = args.to
    if target is None:
        active = next((h["version"] for h in versions if h["active"]), None)
        earlier = [h["version"] for h in versions if active is not None and h["version"] < active]
        target = max(earlier) if earlier else 0
    store.activate_head(args.workspace, target or None)
    print(f"{args.workspace} now uses " + (f"head v{target}" if target else "the shipped head"))
    return 0
