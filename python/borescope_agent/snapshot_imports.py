"""Arming probes in modules imported after the probe arrived.

:class:`ImportWatch` is a finder placed first on ``sys.meta_path`` that finds nothing itself: it
asks the finders after it, and when the module found is a file a probe wants, it wraps that
module's loader so the agent can arm the module's lines right after its code ran, in the
importing thread, before anything can call the new functions. The wrapper is taken off the
module again at once, and ``remove()`` takes the finder off ``sys.meta_path``: nothing of it
stays in the program.
"""

import os
import sys
import threading


class ImportWatch(object):
    """A finder first on sys.meta_path that finds nothing itself: it asks the finders after it,
    and when the module found is a file with probes, wraps its loader so that `on_exec(module,
    path)` runs right after the module's code did (in the importing thread, before anyone can
    call the new functions). The loader is unwrapped again at once; `remove()` takes the finder
    off sys.meta_path."""

    def __init__(self, wanted, on_exec):
        self.wanted = wanted  # (file name) -> real path or None
        self.on_exec = on_exec
        self.local = threading.local()
        self.active = True

    def install(self):
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def remove(self):
        self.active = False
        while self in sys.meta_path:
            try:
                sys.meta_path.remove(self)
            except ValueError:
                break

    def find_spec(self, fullname, path=None, target=None):
        if not self.active or getattr(self.local, "busy", False):
            return None
        self.local.busy = True
        try:
            spec = None
            for finder in list(sys.meta_path):
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    return None  # a legacy finder: let the import system search as usual
                spec = find(fullname, path, target)
                if spec is not None:
                    break
            if spec is None:
                return None
            origin = getattr(spec, "origin", None)
            loader = getattr(spec, "loader", None)
            if not origin or loader is None or not hasattr(loader, "exec_module"):
                return spec
            real = self.wanted(origin)
            if real is None:
                return spec
            spec.loader = _WatchedLoader(loader, self, real)
            return spec
        except Exception:
            return None  # the import system then searches again, without us
        finally:
            self.local.busy = False

    def invalidate_caches(self):
        return None


class _WatchedLoader(object):
    """Stands in for a module's loader during its import only."""

    def __init__(self, loader, watch, path):
        self._loader = loader
        self._watch = watch
        self._path = path

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        try:
            self._loader.exec_module(module)
        finally:
            spec = getattr(module, "__spec__", None)
            if spec is not None and getattr(spec, "loader", None) is self:
                spec.loader = self._loader
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
        if self._watch.active:
            try:
                self._watch.on_exec(module, self._path)
            except Exception:
                pass


def module_file(module):
    """A module's source file name, or None."""
    try:
        name = module.__dict__.get("__file__")
    except Exception:
        return None
    if isinstance(name, str) and name.endswith((".py", ".pyw")):
        return name
    if isinstance(name, str) and name.endswith((".pyc",)):
        return name[:-1] if os.path.exists(name[:-1]) else None
    return None
