"""The Jinja environment that turns the context into a .qmd: sandboxed, strict, escaping by default.

- Delimiters `<< >>`, `<% %>`, `<# #>` so Jinja never collides with Quarto shortcodes `{{< >}}`
  or Typst/LaTeX braces.
- `finalize` escapes every expression for pandoc Markdown unless it is already safe markup
  (a `Num` link, a table rendered and escaped by `tables.py`, a macro's output). Data never executes;
  the `safe` filter is removed.
- `StrictUndefined`: a missing value fails the render instead of printing an empty string.
- Compiled templates are kept in Jinja's own bytecode cache (`FileSystemBytecodeCache`, in the user's private
  temporary folder), keyed by each template's source and by this module's own source and Jinja's version (the
  environment's settings decide the compiled code): a new process compiles only templates it has not seen.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from jinja2 import FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from jinja2.sandbox import ImmutableSandboxedEnvironment

from trialpress.errors import RenderError
from trialpress.report import escape
from trialpress.report.formatting import lower_first, upper_first


def _finalize(value: Any) -> Markup:
    """Markdown-escape what is printed; already-safe markup (Num links, rendered tables, the output of a
    template's own macros) passes as it is. Returning Markup keeps Jinja's autoescape from touching it."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    if value is None:
        raise ValueError("a template printed None: the context is missing a value")
    return Markup(escape.markdown(value))


def _yaml_md(value: Any) -> Markup:
    """A YAML (JSON) string whose content pandoc reads as escaped Markdown."""
    return Markup(json.dumps(escape.markdown(value), ensure_ascii=False))


class _BytecodeCache(FileSystemBytecodeCache):
    """Jinja's file cache, where a compiled template that cannot be stored (a full or read-only disk) is only
    not stored: the render goes on."""

    def dump_bytecode(self, bucket: Any) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


@functools.lru_cache(maxsize=1)
def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Jinja's cache of compiled templates; its file names carry a digest of this module and Jinja's version,
    so a change of the environment's settings never reads code compiled under other ones. None when no private
    temporary folder can be had (Jinja refuses one another user owns): templates are then compiled each time."""
    import jinja2

    tag = hashlib.sha256(Path(__file__).read_bytes() + jinja2.__version__.encode()).hexdigest()[:16]
    try:
        return _BytecodeCache(pattern=f"__trialpress_{tag}_%s.cache")
    except (OSError, RuntimeError):
        return None


def environment(template_dir: Path) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(template_dir)),
        bytecode_cache=_bytecode_cache(),
        undefined=StrictUndefined,
        variable_start_string="<<", variable_end_string=">>",
        block_start_string="<%", block_end_string="%>",
        comment_start_string="<#", comment_end_string="#>",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        finalize=_finalize, autoescape=True,   # macro output is Markup, never escaped twice
    )
    del env.filters["safe"]   # no way for a template to print data unescaped
    env.filters["yaml_md"] = _yaml_md
    env.filters["lower_first"] = lower_first
    env.filters["upper_first"] = upper_first
    return env


@functools.lru_cache(maxsize=8)
def _shared_environment(template_dir: str) -> ImmutableSandboxedEnvironment:
    """One environment per template set and process: templates compile once (about 0.2 s for the article
    set) and are recompiled only when their file changes (Jinja's loader checks each template's modification
    time), so a long-running `render --watch` pays the compile once."""
    return environment(Path(template_dir))


def compile_templates(template_dir: Path) -> None:
    """Compile every template of the set now (a render does it while the quality gate runs); a template
    with a mistake is left for `render_template` to report."""
    import jinja2

    env = _shared_environment(str(Path(template_dir).resolve()))
    for name in env.list_templates(filter_func=lambda n: n.endswith(".j2")):
        try:
            env.get_template(name)
        except jinja2.TemplateError:
            pass


def render_template(template_dir: Path, name: str, context: dict[str, Any]) -> str:
    """`name` of the template set rendered with `context`; a template mistake (syntax, an unknown name, a
    refused operation) is a `RenderError` naming the template file and line."""
    import jinja2

    try:
        return _shared_environment(str(Path(template_dir).resolve())).get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{_where(exc, Path(template_dir))}: {(exc.message or type(exc).__name__).rstrip('.')}.",
                          hint="Fix that line of the template (templates receive only the report's context; an "
                               "unknown name is a typing mistake or a value the context does not have).") from None


def _where(exc: Exception, template_dir: Path) -> str:
    """'templates/article/methods.qmd.j2, line 141' of a template error: from a syntax error's own file and
    line, else from the innermost template frame of the traceback (Jinja maps its frames to template lines)."""
    import traceback

    filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if not filename:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
        if frames:
            filename, line = frames[-1].filename, frames[-1].lineno
    if not filename:
        return str(template_dir)
    path = Path(filename)
    shown = path.relative_to(template_dir.parent.parent) if path.is_relative_to(template_dir.parent.parent) else path
    return f"{shown.as_posix()}, line {line}" if line else shown.as_posix()
