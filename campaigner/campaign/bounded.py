"""A Jinja sandbox that bounds the work and the memory of one render.

Jinja's ``SandboxedEnvironment`` stops templates from reaching Python internals,
but not from being expensive: ``{{ ('a' * 10**8)|length }}`` builds 100 MB, nested
loops or a doubling ``{% set %}`` run for minutes, and validation renders every
template once per contact, on files from any pull request. Here every step a
template takes (a loop iteration, a call, a filter, an operator) spends from a
budget of :data:`MAX_STEPS` per render; operations that grow a value (``*``, ``+``,
``~``, ``%``, padding and format widths, ``replace``, ``join``, ``indent``...) are
checked *before* they run; and the output is capped at :data:`MAX_OUTPUT`
characters. Exceeding any of them is a :class:`TemplateLimit` (a
``TemplateError``), which validation reports at the template's key.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from jinja2 import Template, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateRuntimeError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

MAX_STEPS = 10_000  # loop iterations, calls, filters and operators per render
MAX_OUTPUT = 4_096  # characters a render may produce (URLs and custom fields are short)
MAX_VALUE = 1_000_000  # characters (or items) any one intermediate value may reach
MAX_WIDTH = 4_096  # padding and format widths, repetition counts of center/indent/...
MAX_RANGE = 1_000  # items of range()
# Over a validation pass, a template may spend this many steps, plus STEPS_PER_CONTACT for
# each contact rendered: 10,000 steps on each of a million contacts would take hours.
FREE_STEPS = 1_000_000
STEPS_PER_CONTACT = 50

_WIDTH_NAMES = frozenset(
    {"center", "ljust", "rjust", "zfill", "indent", "wordwrap", "truncate", "batch", "slice"}
)
# str methods a template may call; the rest (expandtabs, translate, encode...) are refused.
_STR_METHODS = frozenset(
    {
        *("lower", "upper", "title", "capitalize", "casefold", "swapcase"),
        *("strip", "lstrip", "rstrip", "split", "rsplit", "splitlines"),
        *("partition", "rpartition", "startswith", "endswith", "removeprefix", "removesuffix"),
        *("find", "rfind", "index", "rindex", "count", "replace", "join"),
        *("zfill", "ljust", "rjust", "center", "format", "format_map"),
        *("isdigit", "isalpha", "isalnum", "isnumeric", "isdecimal", "isspace"),
        *("islower", "isupper", "istitle"),
    }
)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")
_NESTED_SPEC = re.compile(r"\{[^{}]*:[^{}]*\{")
_STEP_FILTER = "campaigner_step"
_VALUE_FILTER = "campaigner_value"

_budget: ContextVar[list[int] | None] = ContextVar("campaigner_template_budget", default=None)


class TemplateLimit(SecurityError):
    """A render went past one of the bounds above."""


def _step() -> None:
    budget = _budget.get()
    if budget is None:
        return  # outside a bounded render (e.g. jinja's own constant folding)
    budget[0] -= 1
    if budget[0] < 0:
        raise TemplateLimit(f"takes more than {MAX_STEPS:,} steps to render")


def _size(value: object) -> int | None:
    return len(value) if isinstance(value, str | list | tuple | dict) else None


def _check_value(value: object) -> object:
    size = _size(value)
    if size is not None and size > MAX_VALUE:
        raise TemplateLimit(f"builds a value of more than {MAX_VALUE:,} characters")
    return value


def _check_growth(args: Iterable[object]) -> None:
    """Refuse a call whose result could exceed MAX_VALUE: two sizes (and a count) multiplied.

    ``x.replace('', y)``, ``x|indent(n)`` and ``sep.join(items)`` all grow with the
    product of their two largest inputs.
    """
    sizes = sorted((s for s in map(_size, args) if s is not None), reverse=True)
    first, second = (sizes + [0, 0])[:2]
    if (first + 1) * (second + 1) > MAX_VALUE:
        raise TemplateLimit(f"could build a value of more than {MAX_VALUE:,} characters")


def _check_widths(name: str, args: Iterable[object]) -> None:
    if name in _WIDTH_NAMES:
        for arg in args:
            if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_WIDTH:
                raise TemplateLimit(f"{name}: a width of {arg:,} (at most {MAX_WIDTH:,})")


def check_format(spec: str) -> None:
    """Refuse ``%`` and ``str.format`` widths beyond MAX_WIDTH, and widths given as ``*``."""
    numbers = [g for m in _PERCENT.finditer(spec) for g in m.groups() if g]
    numbers += [d for m in _BRACE_SPEC.finditer(spec) for d in re.findall(r"\d+", m.group(1))]
    if "*" in numbers or _NESTED_SPEC.search(spec):
        raise TemplateLimit("format widths must be written as numbers")
    if any(int(n) > MAX_WIDTH for n in numbers):
        raise TemplateLimit(f"a format width over {MAX_WIDTH:,}")


def _capped_range(*args: int) -> range:
    _step()
    span = range(*args)
    if len(span) > MAX_RANGE:
        raise TemplateLimit(f"range() of {len(span):,} items (at most {MAX_RANGE:,})")
    return span


def _stepping(items: Any) -> Iterator[Any]:
    """A for loop's iterable, spending one step per item."""
    for item in items:
        _step()
        yield item


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _step()
        values = [a for a in (*args, *kwargs.values()) if not isinstance(a, Context)]
        _check_widths(name, values)
        _check_growth(values)
        if name == "format" and values and isinstance(values[0], str):
            check_format(values[0])
        return _check_value(func(*args, **kwargs))

    return bounded


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox with a budget per render; see the module's docstring."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _capped_range
        self.globals.pop("lipsum", None)  # generates text of any size on request
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_STEP_FILTER] = _stepping
        self.filters[_VALUE_FILTER] = _check_value

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """The parsed template, each loop's iterable stepped and each ``~`` checked."""
        tree = super()._parse(source, name, filename)
        for loop in list(tree.find_all(nodes.For)):
            step = nodes.Filter(loop.iter, _STEP_FILTER, [], [], None, None, lineno=loop.lineno)
            loop.iter = step.set_environment(self)
        for parent in [tree, *tree.find_all(nodes.Node)]:
            for field in parent.fields:
                child = getattr(parent, field, None)
                if isinstance(child, nodes.Concat):
                    setattr(parent, field, _checked(child, self))
                elif isinstance(child, list):
                    parts = [_checked(c, self) if isinstance(c, nodes.Concat) else c for c in child]
                    setattr(parent, field, parts)
        return tree

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr not in _STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _step()
        values = [*args, *kwargs.values()]
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            values.append(owner)
            if __obj.__name__ == "join" and args:
                items = list(args[0])
                if len(items) > MAX_RANGE:
                    raise TemplateLimit(f"join of {len(items):,} items (at most {MAX_RANGE:,})")
                values[0] = "".join(str(i) for i in items)
                args = (items, *args[1:])
        _check_widths(getattr(__obj, "__name__", ""), values)
        _check_growth(values)
        return _check_value(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _step()
        if operator == "*":
            counts = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
            sizes = [s for s in (_size(left), _size(right)) if s is not None]
            if sizes and counts and sizes[0] * max(counts[0], 0) > MAX_VALUE:
                raise TemplateLimit(f"repeats a value past {MAX_VALUE:,} characters")
            if len(counts) == 2 and left.bit_length() + right.bit_length() > 4096:
                raise TemplateLimit("multiplies numbers of more than 4,096 bits")
        elif operator == "**" and _numbers(left, right):
            if abs(right) > 256 or abs(left) > 2**64 and abs(right) > 1:
                raise TemplateLimit("raises a number to too large a power")
        elif operator == "+":
            sizes = [s for s in (_size(left), _size(right)) if s is not None]
            if sum(sizes) > MAX_VALUE:
                raise TemplateLimit(f"builds a value of more than {MAX_VALUE:,} characters")
        elif operator == "%" and isinstance(left, str):
            check_format(left)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        check_format(str(value.__self__))
        return wrapper

    def bounded(self, template: Template) -> BoundedRender:
        """``template``'s render function, within the budget and the output cap."""
        return BoundedRender(template)


class BoundedRender:
    """Render one template within MAX_STEPS and MAX_OUTPUT; ``last_steps`` is what the
    latest render spent, for a caller that also bounds the total over many renders."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.last_steps = 0

    def __call__(self, context: Mapping[str, object]) -> str:
        budget = [MAX_STEPS]
        token = _budget.set(budget)
        try:
            out: list[str] = []
            size = 0
            for chunk in self.template.generate(context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise TemplateLimit(f"renders to more than {MAX_OUTPUT:,} characters")
                out.append(chunk)
            return "".join(out)
        except TemplateError:
            raise
        except RecursionError:
            raise TemplateLimit("recurses too deeply") from None
        except Exception as exc:  # 1/0, int('x'), float overflow: a template mistake
            raise TemplateRuntimeError(f"{type(exc).__name__}: {exc}"[:120]) from None
        finally:
            _budget.reset(token)
            self.last_steps = MAX_STEPS - max(budget[0], 0)


def _numbers(left: Any, right: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))


def _checked(node: nodes.Concat, env: SandboxedEnvironment) -> nodes.Node:
    checked = nodes.Filter(node, _VALUE_FILTER, [], [], None, None, lineno=node.lineno)
    return checked.set_environment(env)
