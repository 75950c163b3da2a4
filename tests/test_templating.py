"""The substitution fast path renders exactly what jinja2 renders, and falls back when it can't."""

from __future__ import annotations

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.playbook import load_playbook
from bot.templating import compile_template

ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
NAMES = ("offering", "customer", "goal", "goal_short", "outcome", "action")


def playbook_templates() -> list[str]:
    m = load_playbook("outside-in").model
    out = [t for ts in m.reframes.values() for t in ts] + m.customer_ease.questions + m.customer_ease.measures
    out += [t for mo in m.motives.values() for t in mo.questions + mo.measures]
    return out + [r["template"] for r in m.goal_rewrites]


COMPILED = [(t, compile_template(ENV, t), ENV.from_string(t)) for t in playbook_templates()]


def test_most_playbook_templates_take_the_fast_path():
    templates = playbook_templates()
    fast = [t for t in templates if not isinstance(compile_template(ENV, t), jinja2.Template)]
    assert len(templates) > 30 and len(fast) >= 0.9 * len(templates)


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({n: st.text(max_size=30) for n in NAMES}),
       st.dictionaries(st.sampled_from(["metric", "amount", "rest", "verb", "target", "who", "any"]),
                       st.text(max_size=20), min_size=7))
def test_fast_path_renders_like_jinja(facts, groups):
    context = {**facts, "motive_titles": ["grow revenue"], "has_offering": True, "has_goal": False,
               "has_action": True, "m": groups}
    for source, fast, slow in COMPILED:
        assert fast.render(**context) == slow.render(**context), source
        assert fast.render(context) == slow.render(context), source  # a mapping, as the engine passes it


@pytest.mark.parametrize("source", [
    "{% if has_goal %}{{ goal }}{% endif %} for {{ customer }}",
    "{{ customer | upper }}",
    "{{ m.items }}",
    "{{- customer }}",
    "{# note #}{{ customer }}",
])
def test_anything_beyond_plain_holes_goes_through_jinja(source):
    compiled = compile_template(ENV, source)
    assert isinstance(compiled, jinja2.Template)


def test_a_missing_variable_raises_like_jinja():
    with pytest.raises(jinja2.UndefinedError):
        compile_template(ENV, "For {{ customr }}").render(customer="admins")
    with pytest.raises(jinja2.UndefinedError):
        compile_template(ENV, "{{ m.metric }}").render(m={})


def test_trailing_newline_is_dropped_like_jinja():
    assert compile_template(ENV, "Hi {{ customer }}\n").render(customer="admins") == "Hi admins"
