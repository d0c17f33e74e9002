"""JSON text of the result files (ard.json, ars.json): readable and fast.

`json.dumps(..., indent=...)` switches Python to its pure-Python encoder, which took a fifth of a second
for the flagship's 2.4 MB ARD on every render. Here each top-level value, and each item of a top-level
list, is encoded by the C encoder on a line of its own: one ARD row, curve or ARS analysis per line, which
a diff or `grep` reads as well as an indented file, at about a fifth of the time. Same input, same bytes.
"""

from __future__ import annotations

import json
from typing import Any


def _one(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def dumps(body: dict[str, Any]) -> str:
    """`body` as JSON text: one line per top-level key, a top-level list with one line per item."""
    parts = []
    for key, value in body.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(_one(v) for v in value)
            parts.append(f" {_one(key)}: [\n  {items}\n ]")
        else:
            parts.append(f" {_one(key)}: {_one(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
