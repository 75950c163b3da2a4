"""What Slack refuses in a message or a view: the limits the Slack stand-in enforces, as Slack's Web API does.

``message_problem(params)`` / ``view_problem(view)`` return Slack's error code (``invalid_blocks``,
``msg_too_long``, ``no_text``, ``invalid_arguments``) with a pointer to the first offending field, or None.
Only the block and element types the app sends are known; anything else is refused, as Slack refuses unknown
types. Limits from Slack's Block Kit reference (blocks, block elements, composition objects, views).
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
TEXT_MAX = 40_000  # a message's top-level text: longer is msg_too_long


def _text_object(obj: Any, where: str, limit: int, *, plain: bool = False) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return f"{where}: not a text object"
    if plain and obj["type"] != "plain_text":
        return f"{where}: must be plain_text"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return f"{where}/text: must be more than 0 characters"
    if len(text) > limit:
        return f"{where}/text: must be less than {limit + 1} characters"
    return None


def _button(el: dict, where: str) -> str | None:
    problem = _text_object(el.get("text"), f"{where}/text", 75, plain=True)
    if problem:
        return problem
    if len(str(el.get("action_id") or "")) > 255:
        return f"{where}/action_id: must be less than 256 characters"
    if "value" in el and not (isinstance(el["value"], str) and 0 < len(el["value"]) <= 2000):
        return f"{where}/value: must be 1 to 2000 characters"
    if el.get("style") not in (None, "primary", "danger"):
        return f"{where}/style: must be primary or danger"
    return None


def _element(el: Any, where: str) -> str | None:
    if not isinstance(el, dict):
        return f"{where}: not an element"
    kind = el.get("type")
    if kind == "button":
        return _button(el, where)
    if kind == "plain_text_input":
        if not 0 < int(el.get("max_length") or 3000) <= 3000:
            return f"{where}/max_length: must be at most 3000"
        initial = el.get("initial_value")
        if initial is not None and len(str(initial)) > int(el.get("max_length") or 3000):
            return f"{where}/initial_value: longer than max_length"
        return None
    if kind == "static_select":
        options = el.get("options") or []
        if not 0 < len(options) <= 100:
            return f"{where}/options: must hold 1 to 100 options"
        for i, option in enumerate(options):
            problem = _text_object(option.get("text"), f"{where}/options/{i}/text", 75, plain=True)
            if problem:
                return problem
            if not 0 < len(str(option.get("value") or "")) <= 150:
                return f"{where}/options/{i}/value: must be 1 to 150 characters"
        placeholder = el.get("placeholder")
        return _text_object(placeholder, f"{where}/placeholder", 150, plain=True) if placeholder else None
    return f"{where}: unknown element type {kind!r}"


def _block(block: Any, where: str) -> str | None:
    if not isinstance(block, dict):
        return f"{where}: not a block"
    if len(str(block.get("block_id") or "")) > 255:
        return f"{where}/block_id: must be less than 256 characters"
    kind = block.get("type")
    if kind == "section":
        if "text" not in block and not block.get("fields"):
            return f"{where}: a section needs text or fields"
        if "text" in block:
            problem = _text_object(block["text"], f"{where}/text", 3000)
            if problem:
                return problem
        fields = block.get("fields") or []
        if len(fields) > 10:
            return f"{where}/fields: at most 10"
        for i, field in enumerate(fields):
            problem = _text_object(field, f"{where}/fields/{i}", 2000)
            if problem:
                return problem
        return None
    if kind == "header":
        return _text_object(block.get("text"), f"{where}/text", 150, plain=True)
    if kind == "divider":
        return None
    if kind == "context":
        elements = block.get("elements") or []
        if not 0 < len(elements) <= 10:
            return f"{where}/elements: must hold 1 to 10 elements"
        for i, el in enumerate(elements):
            problem = _text_object(el, f"{where}/elements/{i}", 3000)
            if problem:
                return problem
        return None
    if kind == "actions":
        elements = block.get("elements") or []
        if not 0 < len(elements) <= 25:
            return f"{where}/elements: must hold 1 to 25 elements"
        for i, el in enumerate(elements):
            problem = _element(el, f"{where}/elements/{i}")
            if problem:
                return problem
        return None
    if kind == "input":
        problem = _text_object(block.get("label"), f"{where}/label", 2000, plain=True)
        return problem or _element(block.get("element"), f"{where}/element")
    return f"{where}: unknown block type {kind!r}"


def blocks_problem(blocks: Any, limit: int) -> str | None:
    """Why Slack would refuse these blocks (a JSON pointer and the rule), or None."""
    if not isinstance(blocks, list):
        return "blocks: not a list"
    if len(blocks) > limit:
        return f"blocks: must hold at most {limit} blocks"
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        problem = _block(block, f"/blocks/{i}")
        if problem:
            return problem
        block_id = block.get("block_id")
        if block_id:
            if block_id in seen:
                return f"/blocks/{i}/block_id: duplicate block_id"
            seen.add(block_id)
    return None


def message_problem(params: dict[str, Any]) -> tuple[str, str] | None:
    """Slack's error code and why, for a message (chat.postMessage, chat.postEphemeral, chat.update, a
    response_url post) Slack would refuse; None if it would take it."""
    text, blocks = params.get("text"), params.get("blocks")
    if isinstance(blocks, str):  # sent form-encoded and not JSON: Slack cannot read it either
        return "invalid_blocks_format", "blocks: not JSON"
    if not text and not blocks and not params.get("attachments"):
        return "no_text", "neither text nor blocks"
    if isinstance(text, str) and len(text) > TEXT_MAX:
        return "msg_too_long", f"text: {len(text):,} characters"
    if blocks:
        problem = blocks_problem(blocks, MESSAGE_BLOCKS)
        if problem:
            return "invalid_blocks", problem
    return None


def view_problem(view: Any) -> tuple[str, str] | None:
    """Slack's error code and why, for a view (views.open, views.publish) Slack would refuse; None if fine."""
    if not isinstance(view, dict):
        return "invalid_arguments", "view: not an object"
    if view.get("type") == "modal":
        for key in ("title", "submit", "close"):
            if key in view or key == "title":
                problem = _text_object(view.get(key), f"/view/{key}", 24, plain=True)
                if problem:
                    return "invalid_arguments", problem
        if len(str(view.get("private_metadata") or "")) > 3000:
            return "invalid_arguments", "/view/private_metadata: must be at most 3000 characters"
    elif view.get("type") != "home":
        return "invalid_arguments", f"/view/type: {view.get('type')!r}"
    problem = blocks_problem(view.get("blocks") or [], VIEW_BLOCKS)
    return ("invalid_arguments", problem) if problem else None
