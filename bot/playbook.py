"""Load, merge (``extends``) and validate playbooks; every error names file, line and field."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any

import jinja2
import yaml
from jinja2.exceptions import SecurityError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .config import PLAYBOOKS_DIR
from .errors import PlaybookError
from .templating import SAMPLE_FACTS, compile_template, private_names
from .verdict import MOTIVE_IDS, PlaybookRef

_MAX_EXTENDS_DEPTH = 5


class Cue(BaseModel):
    """A phrase (words, ``*`` for a word prefix, ``<pct>``-style token classes) and its weight."""

    model_config = ConfigDict(extra="forbid")
    phrase: str = Field(min_length=1)
    weight: float = 1.0


class Motive(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    cues: list[Cue] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    measures: list[str] = Field(default_factory=list)


class Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cues: list[Cue] = Field(default_factory=list)
    not_cues: list[Cue] = Field(default_factory=list)
    threshold: float = 1.0


class CustomerEase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cues: list[Cue] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    measures: list[str] = Field(default_factory=list)


class Scoring(BaseModel):
    """Every number the rules engine decides with. No defaults here: they live in the playbook only
    (outside-in.yaml), so a team playbook that ``extends`` it inherits them and one that does not must
    state them."""

    model_config = ConfigDict(extra="forbid")
    # Shares are of the cue weight (0-1; the verdict shows them as 0-100): outside-in from outside_in_min_share,
    # mixed from mixed_min_share, which must be lower. Weights, counts and margins are not negative.
    outside_in_min_share: float = Field(ge=0, le=1)
    mixed_min_share: float = Field(ge=0, le=1)
    secondary_discount: float = Field(ge=0, le=1)  # a share of a gain's weight
    lead_weight: float = Field(gt=0)
    ease_saturation: float = Field(ge=0)
    question_penalty: float = Field(ge=0)
    company_leads_min: float = Field(ge=0)
    motive_min_weight: float = Field(ge=0)  # a motive is named when its weight reaches this
    motives_make_a_plan: float = Field(ge=0)  # company-motive weight that makes a draft a proposal without the usual verbs
    ease_strength_floor: float = Field(ge=0, le=1)  # customer_ease = 100 * share * (floor + (1 - floor) * strength)
    explicit_dismiss_margin: float = Field(ge=0)  # an explicit check says not-a-proposal only when chat outweighs proposal cues by this


class Language(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "English"
    common_words: list[str] = Field(default_factory=list)
    min_share: float = 0.1
    min_words: int = 4


class Extract(BaseModel):
    """Regular expressions (named groups) that find what a draft is about, for the reframe."""

    model_config = ConfigDict(extra="forbid")
    offering: list[str] = Field(default_factory=list)
    customer: list[str] = Field(default_factory=list)
    goal: list[str] = Field(default_factory=list)
    action: list[str] = Field(default_factory=list)

    @field_validator("offering", "customer", "goal", "action")
    @classmethod
    def _compiles(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        for i, pattern in enumerate(patterns):
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"[{i}] is not a valid regular expression: {exc}") from None
            if info.field_name not in compiled.groupindex:
                raise ValueError(f"[{i}] needs a named group (?P<{info.field_name}>...) for what it finds")
        return patterns


class Exemplar(BaseModel):
    model_config = ConfigDict(extra="forbid")
    draft: str
    label: str
    reframe: str | None = None
    why: str = ""


def _one_word_each(words: list[str]) -> list[str]:
    if not words:
        raise ValueError("a word set needs at least one word")
    for word in words:
        if not word or len(word.split()) != 1 or word != word.lower() or word[-1] == "*" or word[0] == "<":
            raise ValueError(f"{word!r} must be one lower-case word")
    return words


WordList = Annotated[list[str], AfterValidator(_one_word_each)]


class PlaybookModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    version: str | int | float
    extends: str | None = None
    description: str = ""
    principle: str = ""
    language: Language = Field(default_factory=Language)
    token_classes: dict[str, str] = Field(default_factory=dict)
    word_sets: dict[str, WordList] = Field(default_factory=dict)
    proposal: Proposal = Field(default_factory=Proposal)
    customer_ease: CustomerEase = Field(default_factory=CustomerEase)
    motives: dict[str, Motive] = Field(default_factory=dict)
    secondary_markers: list[Cue] = Field(default_factory=list)
    scoring: Scoring = None  # type: ignore[assignment]  # required: checked after the other fields
    extract: Extract = Field(default_factory=Extract)
    goal_rewrites: list[dict[str, str]] = Field(default_factory=list)
    reframes: dict[str, list[str]] = Field(default_factory=dict)
    questions: dict[str, list[str]] = Field(default_factory=dict)
    exemplars: list[Exemplar] = Field(default_factory=list)

    @field_validator("motives")
    @classmethod
    def _known_motives(cls, motives: dict[str, Motive]) -> dict[str, Motive]:
        for key in motives:
            if key not in MOTIVE_IDS:
                raise ValueError(f"unknown motive id {key!r}; use one of {', '.join(MOTIVE_IDS)}")
        return motives

    @field_validator("token_classes")
    @classmethod
    def _classes_compile(cls, classes: dict[str, str]) -> dict[str, str]:
        for name, pattern in classes.items():
            if not (name.startswith("<") and name.endswith(">")):
                raise ValueError(f"token class {name!r} must look like <name>")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{name} is not a valid regular expression: {exc}") from None
        return classes

    @field_validator("word_sets")
    @classmethod
    def _word_sets_are_words(cls, sets: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in sets:
            if not (name.startswith("<") and name.endswith(">")):
                raise ValueError(f"word set {name!r} must look like <name>")
        return sets

    @model_validator(mode="after")
    def _cue_classes_exist(self) -> PlaybookModel:
        clash = set(self.token_classes) & set(self.word_sets)
        if clash:
            raise ValueError(f"{', '.join(sorted(clash))} is both a token class and a word set")
        known = set(self.token_classes) | set(self.word_sets)
        cues = self.proposal.cues + self.proposal.not_cues + self.customer_ease.cues + self.secondary_markers
        cues += [c for mo in self.motives.values() for c in mo.cues]
        for cue in cues:
            for word in cue.phrase.split():
                if word.startswith("<") and word.endswith(">") and word not in known:
                    raise ValueError(f"cue {cue.phrase!r} uses {word}, which is neither a token class nor a "
                                     "word set")
        return self


class Playbook:
    """A validated, merged playbook and where it came from."""

    def __init__(self, model: PlaybookModel, path: Path, data: dict[str, Any]) -> None:
        self.model = model
        self.path = path
        self.data = data
        self.name = model.name
        self.version = str(model.version)

    @property
    def ref(self) -> PlaybookRef:
        return PlaybookRef(name=self.name, version=self.version)

    @functools.cached_property
    def digest(self) -> str:
        """sha256 of what the playbook says (its merged content, not its file's name): an edit without a new
        version still changes it."""
        canonical = json.dumps(self.data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def __repr__(self) -> str:
        return f"Playbook({self.name!r}, {self.version!r}, {str(self.path)!r})"


# -- YAML with line numbers ----------------------------------------------------------------------
def _line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map each field path (keys and list indexes) to its 1-based line in the file."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out)
            out[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, path + (i,), out)
    return out


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlaybookError("file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(f"cannot read: {exc}", str(path)) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise PlaybookError(f"invalid YAML: {exc.problem or exc.context}", str(path), line) from None
    except yaml.YAMLError as exc:
        raise PlaybookError(f"invalid YAML: {exc}", str(path)) from None
    if not isinstance(data, dict) or node is None:
        raise PlaybookError("a playbook must be a YAML mapping (name:, version:, ...)", str(path), 1)
    return data, _line_map(node)


def _merge(parent: Any, child: Any) -> Any:
    """Child over parent: mappings merge, lists append, scalars override."""
    if isinstance(parent, dict) and isinstance(child, dict):
        merged = dict(parent)
        for key, value in child.items():
            merged[key] = _merge(parent[key], value) if key in parent else value
        return merged
    if isinstance(parent, list) and isinstance(child, list):
        return parent + child
    return child


def resolve_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    """A playbook name (``outside-in``) or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or "/" in name_or_path or candidate.exists():
        if not candidate.is_absolute() and relative_to is not None and not candidate.exists():
            candidate = relative_to / candidate
        return candidate
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name_or_path):
        raise PlaybookError(f"not a playbook name: {name_or_path!r}")
    for base in ([relative_to] if relative_to else []) + [PLAYBOOKS_DIR]:
        for ext in (".yaml", ".yml"):
            if (base / f"{name_or_path}{ext}").exists():
                return base / f"{name_or_path}{ext}"
    known = ", ".join(sorted(p.stem for p in PLAYBOOKS_DIR.glob("*.y*ml")))
    raise PlaybookError(f"no playbook named {name_or_path!r} (known: {known})")


class _ExtendsCycleError(PlaybookError):
    """An extends chain that comes back to a file: said once, where the chain closes (not wrapped per level)."""


Lines = dict[tuple, int]  # field path in the merged playbook -> line in the file being loaded
Paths = dict[tuple, tuple]  # field path in the merged playbook -> the same field's path in that file


def _load_raw(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Lines, Paths]:
    data, lines = _read_yaml(path)
    parent_name = data.get("extends")
    if parent_name is None:
        return data, lines, {loc: loc for loc in lines}
    chain = (*chain, path.resolve())
    if len(chain) > _MAX_EXTENDS_DEPTH:
        raise PlaybookError("extends chain is too deep", str(path), lines.get(("extends",)))
    if not isinstance(parent_name, str):
        raise PlaybookError("extends must be a playbook name", str(path), lines.get(("extends",)))
    try:
        parent_path = resolve_path(parent_name, path.parent)
        if parent_path.resolve() in chain:
            files = " -> ".join(p.name for p in (*chain, parent_path.resolve()))
            raise _ExtendsCycleError(f"extends chain has a cycle: {files}", str(path), lines.get(("extends",)))
        parent, _, _ = _load_raw(parent_path, chain)
    except _ExtendsCycleError:
        raise
    except PlaybookError as exc:
        raise PlaybookError(f"extends {parent_name!r}: {exc.detail}", str(path), lines.get(("extends",))) from None
    base = {k: v for k, v in parent.items() if k != "extends"}
    shifted = _shift_paths(lines, base)
    return _merge(base, data), {merged: lines[own] for merged, own in shifted.items()}, shifted


def _shift_paths(lines: Lines, parent: dict[str, Any]) -> Paths:
    """The child file's field paths, keyed by their paths in the merged playbook (the child's list items come
    after the parent's, so their indexes move by the parent's list length)."""
    out: Paths = {}
    for path in lines:
        shifted: list[Any] = []
        node: Any = parent
        for part in path:
            if isinstance(part, int) and isinstance(node, list):
                shifted.append(part + len(node))
                node = None  # the child's own item: nothing of the parent below it
            else:
                shifted.append(part)
                node = node.get(part) if isinstance(node, dict) else None
        out[tuple(shifted)] = path
    return out


def _in_file(loc: tuple, paths: Paths | None) -> tuple:
    """The field path ``loc`` of the merged playbook as it is written in the file (``cues[0]``, not ``cues[38]``)."""
    loc = tuple(loc)
    if paths:
        for k in range(len(loc), -1, -1):
            if loc[:k] in paths:
                return paths[loc[:k]] + loc[k:]
    return loc


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _field_name(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(data: dict[str, Any], path: Path, lines: Lines, paths: Paths | None = None) -> PlaybookModel:
    """The playbook model of merged ``data``; errors name ``path``, the line there and the field as written there."""

    def error(loc: tuple, message: str) -> PlaybookError:
        return PlaybookError(f"{_field_name(_in_file(loc, paths))}: {message}", str(path), _line_for(loc, lines))

    try:
        model = PlaybookModel.model_validate(data)
    except ValidationError as exc:
        # Report a wrong value before a missing field: the wrong one has a line to point at.
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        raise error(loc, msg) from None
    for i, rewrite in enumerate(model.goal_rewrites):
        if set(rewrite) != {"pattern", "template"}:
            raise error(("goal_rewrites", i), "needs exactly pattern and template")
        try:
            re.compile(rewrite["pattern"])
        except re.error as exc:
            raise error(("goal_rewrites", i, "pattern"), f"not a valid regular expression: {exc}") from None
    for loc, source, context in _templates(model):
        problem = _template_problem(source, context)
        if problem:
            raise error(loc, problem)
    if model.scoring is None:
        raise PlaybookError("scoring: missing (extend outside-in, or state every number of scoring)", str(path), 1)
    sc = model.scoring
    if sc.mixed_min_share >= sc.outside_in_min_share:
        where = "mixed_min_share" if ("scoring", "mixed_min_share") in lines else "outside_in_min_share"
        raise error(("scoring", where), f"mixed_min_share ({sc.mixed_min_share}) must be below outside_in_min_share "
                                        f"({sc.outside_in_min_share}): a draft is mixed from the one share and "
                                        "outside-in from the other")
    return model


def _templates(model: PlaybookModel) -> list[tuple[tuple, str, dict[str, Any]]]:
    """Every template field of a playbook: (where, source, the sample values it renders with)."""
    out: list[tuple[tuple, str, dict[str, Any]]] = []
    for kind, templates in model.reframes.items():
        out += [(("reframes", kind, i), t, SAMPLE_FACTS) for i, t in enumerate(templates)]
    for kind, templates in model.questions.items():
        out += [(("questions", kind, i), t, SAMPLE_FACTS) for i, t in enumerate(templates)]
    for field in ("questions", "measures"):
        out += [(("customer_ease", field, i), t, SAMPLE_FACTS)
                for i, t in enumerate(getattr(model.customer_ease, field))]
        for mid, motive in model.motives.items():
            out += [(("motives", mid, field, i), t, SAMPLE_FACTS) for i, t in enumerate(getattr(motive, field))]
    for i, rewrite in enumerate(model.goal_rewrites):
        groups = {name: "sample" for name in re.compile(rewrite["pattern"]).groupindex}
        out.append((("goal_rewrites", i, "template"), rewrite["template"], {"m": groups}))
    return out


def _template_problem(source: str, context: dict[str, Any]) -> str | None:
    """Why ``source`` cannot be a playbook template, or None: it must parse, stay in the sandbox and render."""
    try:
        private = private_names(source)
        if not private:
            template = compile_template(None, source)  # compiling also finds unknown filters and tests
    except jinja2.TemplateSyntaxError as exc:
        return f"template error: {exc.message}"
    if private:
        names = ", ".join(sorted(set(private)))
        return f"template reaches for {names}: names starting with _ are not allowed in playbooks"
    try:
        template.render(context)
    except SecurityError as exc:
        return f"template is not allowed in the sandbox: {exc}"
    except jinja2.UndefinedError as exc:
        return f"template uses an unknown name: {exc.message} (known: {', '.join(sorted(context))})"
    except Exception as exc:  # noqa: BLE001 - any other render failure is the playbook's, said with its line
        return f"template fails to render: {type(exc).__name__}: {exc}"
    return None


def load_playbook(name_or_path: str) -> Playbook:
    """Load a playbook by name (from playbooks/) or path, merged with what it extends, validated."""
    path = resolve_path(name_or_path)
    data, lines, paths = _load_raw(path)
    model = validate(data, path, lines, paths)
    return Playbook(model, path, data)
