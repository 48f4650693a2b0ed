"""One live-snapshot probe inside this instance: which files it matches, its compiled
condition, capture expressions and logpoint template (safe_expr), its token bucket, and its
counters. The agent (snapshots.py) owns the registry and the hit pipeline; this module owns no
state of its own.
"""

import os
import posixpath
import threading
import time

from . import safe_expr

DEFAULT_RATE = 1.0


class Bucket(object):
    """A token bucket: `rate` tokens a second, holding at most max(1, rate)."""

    def __init__(self, rate):
        self.lock = threading.Lock()
        self.set_rate(rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def set_rate(self, rate):
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            rate = DEFAULT_RATE
        self.rate = max(rate, 0.001)
        self.capacity = max(1.0, self.rate)

    def ready(self, now):
        return self.tokens + (now - self.stamp) * self.rate >= 1.0

    def take(self, now):
        with self.lock:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False

    def refund(self):
        with self.lock:
            self.tokens = min(self.capacity, self.tokens + 1.0)


def _matcher(spec):
    """A predicate on real paths for a probe's `file`: equal when absolute, else ending with it
    on a path-component boundary."""
    text = spec.replace("\\", "/")
    if os.path.isabs(text):
        plain = os.path.normpath(text)
        try:
            real = os.path.realpath(text)
        except Exception:
            real = plain
        return lambda path: path == plain or path == real
    rel = posixpath.normpath(text)
    while rel.startswith("./"):
        rel = rel[2:]
    suffix = "/" + rel
    return lambda path: path == rel or path.endswith(suffix)


class ProbeRuntime(object):
    """One probe in this instance: its compiled expressions, limits and counters."""

    def __init__(self, spec, secret_names, now_ms):
        self.spec = spec
        self.id = int(spec["id"])
        self.file = str(spec["file"])
        self.line = int(spec["line"])
        self.matches = _matcher(self.file)
        self.frames_with_locals = max(int(spec.get("frames_with_locals") or 1), 1)
        self.expires_ms = int(spec.get("expires_ms") or 0)
        self.want_source = bool(spec.get("want_source"))
        self.source_sent = False
        self.bucket = Bucket(spec.get("rate") or DEFAULT_RATE)
        self.lock = threading.Lock()
        self.reset_counters()
        self.error = None
        self.ended = None
        self.done = False
        self.condition = None
        self.captures = []
        self.template = None
        self.compile(secret_names)
        self.update(spec, now_ms)

    def reset_counters(self):
        self.hits = 0
        self.rate_limited = 0
        self.captured = 0
        self.unsent = 0
        self.limited_at = None
        self.condition_errors = 0
        self.condition_error = None
        self.expression_errors = 0
        self.expression_error = None
        self.sent = None  # (status, message) last reported
        self.sent_counts = None  # (hits, rate_limited) last reported

    def same(self, spec):
        """True when `spec` differs from ours at most in `hits_left` and `want_source`."""
        mine = dict(self.spec, hits_left=None, want_source=None)
        return mine == dict(spec, hits_left=None, want_source=None)

    def compile(self, secret_names):
        """Checks and compiles the condition, capture expressions and template; a refusal makes
        the probe's status `error` (it is then never armed)."""
        self.error = None
        spec = self.spec
        try:
            text = spec.get("condition")
            self.condition = None
            if text:
                condition = safe_expr.Expression(text, secret_names)
                if condition.secret:
                    raise safe_expr.Refused(
                        "it reads %s, whose value is redacted; conditions cannot read redacted values" % ", ".join(condition.secrets)
                    )
                self.condition = condition
        except safe_expr.Refused as exc:
            self.error = "condition refused: %s" % exc
            return
        try:
            self.captures = [safe_expr.Expression(text, secret_names) for text in spec.get("captures") or []]
        except safe_expr.Refused as exc:
            self.error = "capture expression refused: %s" % exc
            return
        try:
            self.template = safe_expr.Template(spec["log"], secret_names) if spec.get("log") else None
        except safe_expr.Refused as exc:
            self.error = "log template refused: %s" % exc

    def update(self, spec, now_ms):
        """Takes the server's latest `hits_left` (less what this instance captured and the server
        has not acknowledged yet) and ends the probe when no hits or time are left."""
        self.spec = spec
        self.want_source = bool(spec.get("want_source"))
        left = spec.get("hits_left")
        self.remaining = None if left is None else max(int(left) - self.unsent, 0)
        if self.remaining == 0:
            self.end("its hit limit was reached")
        elif self.expires_ms and now_ms >= self.expires_ms:
            self.end("its time ran out")

    def end(self, why):
        self.done = True
        if self.ended is None:
            self.ended = why

    def armable(self):
        return not self.done and self.error is None
