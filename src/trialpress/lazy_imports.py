"""Import a library without the modules it imports only for code trialpress never calls.

Some libraries import, at module level, modules they touch only inside functions trialpress does not use:
great_expectations imports scipy.stats and altair (~1 s of a cold run); scipy.special's array-API layer
clones numpy's whole namespace, which imports numpy.f2py and numpy.testing (~0.06-0.1 s). While such a
library is imported, `deferred(...)` puts stand-ins for those modules in `sys.modules` that import the real
module on first attribute access; afterwards the stand-ins are removed again, so any later `import` of
them anywhere gets the real module as usual (and a stand-in the library kept still works: it forwards to
the real module). Nothing of the library is patched.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Deferred(types.ModuleType):
    """A module placeholder that imports the real module when an attribute is first needed."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update({k: v for k, v in real.__dict__.items() if k not in ("__name__", "__spec__")})
        return getattr(real, attr)


def _defer(name: str) -> _Deferred | None:
    if name in sys.modules:
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    proxy = _Deferred(name)
    proxy.__spec__ = spec
    proxy.__file__ = spec.origin
    if spec.submodule_search_locations is not None:
        proxy.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = proxy
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, proxy)
    return proxy


def _restore(name: str, proxy: _Deferred) -> None:
    if sys.modules.get(name) is proxy:
        del sys.modules[name]
    parent, _, child = name.rpartition(".")
    if parent and getattr(sys.modules.get(parent), child, None) is proxy:
        delattr(sys.modules[parent], child)


@contextmanager
def deferred(*names: str) -> Iterator[None]:
    """Within the block, `names` (not yet imported) are stand-ins that import themselves when used."""
    proxies = {n: p for n in names if (p := _defer(n)) is not None}
    try:
        yield
    finally:
        for name, proxy in proxies.items():
            _restore(name, proxy)
