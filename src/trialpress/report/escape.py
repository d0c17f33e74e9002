"""Escaping of data strings for the place they land: Markdown (pandoc/Quarto), HTML, Typst, raw blocks,
link targets, file names and the terminal.

Data never executes: an AE term like `#read("/etc/passwd")`, `<script>`, `{{ 7*7 }}`, `$x$`, `*bold*`, a
newline followed by a code fence, or a terminal escape sequence must appear literally wherever it lands.
"""

from __future__ import annotations

import hashlib
import html
import re
import string
import unicodedata

# pandoc Markdown: a backslash escapes any ASCII punctuation character
_MD_SPECIAL = set(string.punctuation)
# Typst markup: characters with meaning in markup mode (escaped with a backslash)
_TYPST_SPECIAL = set('\\#$*_`<>@[]~/"\'=-+{}')


def _printable(ch: str) -> str:
    """A character shown as text: line breaks and other control characters become a space (a NUL or an escape
    sequence never reaches a document), a lone surrogate the replacement character."""
    if ch in "\r\n\t" or unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
        return " "
    if unicodedata.category(ch) == "Cs":
        return "\ufffd"
    return ch


# the characters `_printable` changes (categories Cc, Zl, Zp, Cs): clean text skips the per-character pass
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_MD_RE = re.compile("[" + re.escape("".join(sorted(_MD_SPECIAL))) + "]")
_TYPST_RE = re.compile("[" + re.escape("".join(sorted(_TYPST_SPECIAL))) + "]")


def _printable_text(s: str) -> str:
    """`s` with `_printable` applied to each character (one regular-expression scan for the usual clean text)."""
    return s if _UNPRINTABLE.search(s) is None else "".join(_printable(ch) for ch in s)


def plain(text: object) -> str:
    """Text as it is drawn in a figure: control characters and line breaks as spaces (SVG is XML, and a glyph
    for an escape character does not exist)."""
    return _printable_text(str(text))


def markdown(text: object) -> str:
    """Every ASCII punctuation character backslash-escaped, control characters as spaces."""
    return _MD_RE.sub(r"\\\g<0>", _printable_text(str(text)))


# what `html_text` changes: HTML's five special characters and the characters `_printable` replaces
_HTML_CHANGED = re.compile("[&<>\"'\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def html_text(text: object) -> str:
    """Text and attribute values in HTML: `& < > " '` as entities, control characters as spaces (clean text, the
    usual case for the ARD appendix's ~50,000 cells, is returned after one regular-expression scan)."""
    s = str(text)
    if _HTML_CHANGED.search(s) is None:
        return s
    return html.escape(_printable_text(s), quote=True)


def attribute(text: object) -> str:
    """Content of a pandoc attribute value "..." (e.g. fig-alt): quotes and backslashes escaped."""
    return _printable_text(str(text)).replace("\\", "\\\\").replace('"', '\\"')


def typst(text: object) -> str:
    """Typst markup: its special characters backslash-escaped, control characters as spaces."""
    return _TYPST_RE.sub(r"\\\g<0>", _printable_text(str(text)))


def typst_string(text: object) -> str:
    """Content of a Typst string literal "..."."""
    return _printable_text(str(text)).replace("\\", "\\\\").replace('"', '\\"')


def fence_for(body: str) -> str:
    """A code-fence of backticks longer than any run of backticks in `body`: a raw block it delimits cannot be
    closed by anything inside it."""
    longest = max((len(m.group(0)) for m in re.finditer(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


_SAFE_NAME = re.compile(r"[^a-z0-9]+")


def slug(text: object, *, max_length: int = 40) -> str:
    """A file-name part from any text: kept as it is when it is already lower-case letters, digits, '-' and
    '_'; otherwise lower-case ASCII letters and digits joined by '-', with a short hash of the original so that
    two values never share a name ('Blina 9/28 mcg' -> 'blina-9-28-mcg-3f2a1c')."""
    raw = str(text)
    if re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", raw):
        return raw
    base = _SAFE_NAME.sub("-", unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().lower())
    base = base.strip("-")[:max_length].strip("-") or "x"
    return f"{base}-{hashlib.sha256(raw.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"


def link_target(path: str) -> str:
    """A relative link target for Markdown: only the characters our own file names use are allowed."""
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", path) or ".." in path.split("/"):
        raise ValueError(f"unsafe link target {path!r}")
    return path


def terminal(text: object) -> str:
    """Text for the terminal: control characters (escape sequences, carriage returns, NUL) shown escaped."""
    out = []
    for ch in str(text):
        if ch == "\n" or (unicodedata.category(ch) not in ("Cc", "Cf", "Cs") and ch not in "\u2028\u2029"):
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)
