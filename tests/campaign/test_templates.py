"""Templates: unknown variables and syntax errors at the option's position; values per contact."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.exceptions import TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from campaigner.campaign import templates
from campaigner.campaign.resolved import Contact
from campaigner.campaign.substitution import renderer
from campaigner.campaign.templates import template_context
from tests.campaign.conftest import BASE, Check

CSV = BASE.replace('inline: ["+919812300001"]', "file: contacts.csv")
ROWS = "phone,order_id,name\n9812300001,OD-1,Asha\n9812300002,OD-2,Ravi\n"


def call(options: str) -> str:
    return CSV + "call:\n" + options


def test_templates_render_per_contact(check: Check) -> None:
    text = call("  custom_field: '{{ campaign }}:{{ order_id }}:{{ attempt }}:{{ phone }}'\n")
    loaded, problems = check(text, {"contacts.csv": ROWS})
    assert problems == []
    assert loaded is not None
    assert loaded.templates.keys() == ["call.custom_field"]
    first = next(loaded.iter_contacts())
    context = template_context("t", first, 2)
    assert loaded.templates.render("call.custom_field", context) == "t:OD-1:2:+919812300001"


def test_misspelt_variable_is_an_error_with_did_you_mean(check: Check) -> None:
    _, problems = check(call("  custom_field: '{{ oder_id }}'\n"), {"contacts.csv": ROWS})
    assert problems == [
        "c.yaml:14:17: call.custom_field: unknown template variable 'oder_id', "
        "did you mean 'order_id'?"
    ]


def test_unknown_variable_lists_what_is_available(check: Check) -> None:
    _, problems = check(call("  custom_field: '{{ zzz }}'\n"), {"contacts.csv": ROWS})
    assert problems == [
        "c.yaml:14:17: call.custom_field: unknown template variable 'zzz'; variables "
        "available: phone, attempt, campaign, order_id, name"
    ]


def test_template_syntax_error_is_located(check: Check) -> None:
    _, problems = check(call("  wait_audio_url: 'https://a/{{ name'\n"), {"contacts.csv": ROWS})
    assert problems == [
        "c.yaml:14:19: call.wait_audio_url: template syntax error: unexpected end of template, "
        "expected 'end of print statement'."
    ]


def test_custom_field_longer_than_128_is_an_error_at_the_row(check: Check) -> None:
    rows = "phone,note\n9812300001,short\n9812300002," + "x" * 130 + "\n"
    _, problems = check(call("  custom_field: '{{ note }}'\n"), {"contacts.csv": rows})
    assert problems == [
        "contacts.csv:3:1: call.custom_field: renders to 130 characters; Exotel keeps at most 128"
    ]


def test_constant_values_are_checked_once_at_the_option(check: Check) -> None:
    text = call(
        "  custom_field: '" + "y" * 129 + "'\n"
        "  wait_audio_url: ftp://a.example/x.wav\n"
        "  streaming: {url: 'https://a.example/stream'}\n"
    )
    _, problems = check(text, {"contacts.csv": ROWS})
    assert problems == [
        "c.yaml:14:17: call.custom_field: renders to 129 characters; Exotel keeps at most 128",
        "c.yaml:15:19: call.wait_audio_url: renders to 'ftp://a.example/x.wa…', not an http(s) URL",
        "c.yaml:16:20: call.streaming.url: renders to 'https://a.example/st…', not a ws(s) URL",
    ]


def test_url_templates_are_checked_per_contact(check: Check) -> None:
    rows = "phone,lang\n9812300001,en\n9812300002,\n"
    text = call(
        "  playback: [{url: '{{ lang }}'}]\n".replace("{{ lang }}", "https://a/{{ lang }}.wav")
    )
    assert check(text.replace("api: v1", "api: v3"), {"contacts.csv": rows})[1] == []
    text = call("  playback: {url: '{{ lang }}'}\n")
    assert check(text, {"contacts.csv": rows})[1] == [
        "contacts.csv:2:1: call.playback.0.url: renders to 'en', not an http(s) URL",
        "contacts.csv:3:1: call.playback.0.url: renders to '', not an http(s) URL",
    ]


def test_the_sandbox_refuses_unsafe_attributes(check: Check) -> None:
    text = call("  custom_field: \"{{ ''.__class__.__mro__ }}\"\n")
    assert check(text, {"contacts.csv": ROWS})[1] == [
        "c.yaml:14:17: call.custom_field: template error: access to attribute '__class__' of "
        "'str' object is unsafe."
    ]


def test_inline_contacts_missing_a_variable_fail_at_the_item(check: Check) -> None:
    text = BASE.replace(
        'inline: ["+919812300001"]', 'inline: [{phone: "9812300001", name: A}, "9812300002"]'
    )
    _, problems = check(text + "call:\n  custom_field: 'Hi {{ name }}'\n")
    assert problems == ["c.yaml:8:1: call.custom_field: template error: 'name' is undefined"]


def test_context_builtins_win_over_columns() -> None:
    contact = Contact("+919812300001", "9812300001", "x.csv:2", {"attempt": "9", "city": "Pune"})
    assert template_context("camp", contact, 3) == {
        "attempt": 3,
        "city": "Pune",
        "phone": "+919812300001",
        "campaign": "camp",
    }


names = st.sampled_from(["name", "order_id", "phone", "attempt", "x_1"])
texts = st.text(alphabet=st.characters(exclude_characters="{}%#\r", codec="utf-8"), max_size=8)
pieces = st.lists(st.one_of(texts, names.map(lambda n: "{{ " + n + " }}")), max_size=6)
values = st.one_of(st.text(max_size=5), st.integers(), st.none(), st.booleans(), st.floats())


@given(pieces, st.dictionaries(names, values))
def test_plain_substitution_renders_exactly_as_jinja(parts: list[str], context: dict) -> None:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    source = "".join(parts)
    template = env.from_string(source)
    fast = renderer(env, source, template)
    missing = sorted(set(names_in(source)) - set(context))
    if missing:
        with pytest.raises(UndefinedError) as slow:
            template.render(context)
        with pytest.raises(UndefinedError) as quick:
            fast(context)
        assert (
            str(quick.value)
            == str(slow.value)
            == f"'{missing_first(source, context)}' is undefined"
        )
    else:
        assert fast(context) == template.render(context)


def names_in(source: str) -> list[str]:
    return [part.split(" }}")[0] for part in source.split("{{ ")[1:]]


def missing_first(source: str, context: dict) -> str:
    return next(n for n in names_in(source) if n not in context)


def test_templates_with_more_than_names_render_through_jinja() -> None:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    for source in (
        "{{ name | upper }}",
        "{% if x is defined %}y{% endif %}",
        "{{ a.b }}",
        "{{ range }}",
    ):
        template = env.from_string(source)
        assert renderer(env, source, template) == template.render


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ ('a' * 10**8)|length }}", "repeats a value past 1,000,000 characters"),
        ("{% for a in range(200) %}{% for b in range(200) %}{% endfor %}{% endfor %}x",
         "takes more than 10,000 steps to render"),
        ("{% set a = 'xxxxxxxxxx' %}" + "{% set a = a ~ a %}" * 20 + "{{ a|length }}",
         "builds a value of more than 1,000,000 characters"),
        ("{{ range(100000)|length }}", "range() of 100,000 items (at most 1,000)"),
        ("{{ name.center(10**6) }}", "center: a width of 1,000,000 (at most 4,096)"),
        ("{{ name|indent(10**6) }}", "indent: a width of 1,000,000 (at most 4,096)"),
        ("{{ '%9999999d' % 1 }}", "a format width over 4,096"),
        ("{{ '{:>9999999}'.format(1) }}", "a format width over 4,096"),
        ("{{ '%*d'|format(9999999, 1) }}", "format widths must be written as numbers"),
        ("{{ ('x' * 2000).replace('', 'y' * 2000) }}",
         "could build a value of more than 1,000,000 characters"),
        ("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
         "recurses too deeply"),
        ("{% for i in range(999) %}{{ name }}{{ name }}{% endfor %}",
         "renders to more than 4,096 characters"),
        ("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
    ],
)  # fmt: skip
def test_the_sandbox_bounds_every_render(check: Check, source: str, message: str) -> None:
    text = call(f"  custom_field: {json.dumps(source)}\n")
    _, problems = check(text, {"contacts.csv": ROWS})
    where = "contacts.csv:2:1" if "name" in source else "c.yaml:14:17"  # per contact, or once
    assert problems[0] == f"{where}: call.custom_field: template error: {message}"


def test_the_sandbox_lets_ordinary_templates_through(check: Check) -> None:
    source = (
        "{{ name|upper }}-{{ '%05d'|format(7) }}-{{ order_id ~ '/' ~ attempt }}-"
        "{% for c in name %}{{ c }}{% endfor %}-{{ ','.join(['a', 'b']) }}-{{ name[:2] }}"
    )
    loaded, problems = check(
        call(f"  custom_field: {json.dumps(source)}\n"), {"contacts.csv": ROWS}
    )
    assert problems == []
    assert loaded is not None
    context = template_context("t", next(loaded.iter_contacts()), 1)
    assert loaded.templates.render("call.custom_field", context) == "ASHA-00007-OD-1/1-Asha-a,b-As"


def test_unlisted_string_methods_are_refused(check: Check) -> None:
    _, problems = check(
        call('  custom_field: "{{ name.expandtabs(4) }}"\n'), {"contacts.csv": ROWS}
    )
    assert problems[0] == (
        "contacts.csv:2:1: call.custom_field: template error: access to attribute "
        "'expandtabs' of 'str' object is unsafe."
    )


def test_template_errors_quote_contact_values_short(check: Check) -> None:
    rows = "phone,key\n9812300001," + "k" * 300 + "\n"
    _, problems = check(call('  custom_field: "{{ {}[key] }}"\n'), {"contacts.csv": rows})
    message = problems[0].split("template error: ", 1)[1]
    assert message == "'dict object' has no attribute '" + "k" * 88 + "…"


def test_steps_are_bounded_over_the_whole_file(
    check: Check, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(templates, "FREE_STEPS", 1_000)  # 50 steps a contact after these
    rows = "phone,order_id,name\n" + "".join(f"98123{i:05d},OD,N\n" for i in range(40))
    loops = "{% for i in range(100) %}{% endfor %}{{ name }}"  # about 100 steps a render
    _, problems = check(call(f"  custom_field: {json.dumps(loops)}\n"), {"contacts.csv": rows})
    assert problems == [
        "contacts.csv:21:1: call.custom_field: template error: takes more than 50 steps a "
        "contact on average; the rest of the contacts are not rendered (simplify the template)"
    ]


FRAGMENTS = (
    *("{{ ", " }}", "{% for x in ", " %}", "{% endfor %}", "{% set a = ", "{% if "),
    *("{% endif %}", "{% macro f(n) %}", "{% endmacro %}", "name", "n", "x", "a", "'ab'"),
    *("10**8", "9**9**9", "range(5000)", "f(1)", " * ", " + ", " ~ ", " % ", " / ", "|upper"),
    *("|join(',')", "|list", "|indent(99999)", "|center(5000)", "|replace('', 'zz')"),
    *("|format(1)", "|int", "|string", "|tojson", "|batch(3)", ".center(99)", ".join(name)"),
    *(".format(1)", "[0]", "(", ")", ",", "'%5000d'", "'{:>9}'", "[1,2]", "1e308", " in "),
)


@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12))
def test_any_template_renders_or_fails_as_a_template_error(parts: list[str]) -> None:
    env = templates._ENV
    try:
        render = env.bounded(env.from_string("".join(parts)))
    except TemplateSyntaxError:
        return
    with contextlib.suppress(TemplateError):  # anything else (a traceback) fails the test
        render({"name": "Ravi" * 100, "n": "1000"})
