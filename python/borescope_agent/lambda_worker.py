"""The Lambda worker: runs relayed invocations of a deployed function from the local code, on the
developer's machine (docs/lambda-relay.md, section 7). Started by `borescope lambda attach` as
the program of a borescope session (`python -m borescope_agent.lambda_worker`).

It connects once to the Unix socket in BORESCOPE_LAMBDA_WORKER_SOCKET; frames both ways are
u32_be(length) || UTF-8 JSON. It says `hello`, then runs each `invoke` in its own thread and
answers `result` or `error`; `bye` lets running invocations finish, then exits 0. The handler
is imported from BORESCOPE_LAMBDA_CODE (first on sys.path) the way the Lambda runtime imports
it, and re-imported when a file of a module under that directory changed. Each invocation
sees the function's environment in `os.environ` (a ContextVar-backed overlay), a Lambda-like
context, and `_X_AMZN_TRACE_ID` from the invocation.

Standard library only, CPython 3.9+. The environment it receives holds the function's
temporary credentials: it is never written to disk or logged.
"""

import collections.abc
import contextvars
import decimal
import importlib
import json
import os
import queue
import socket
import struct
import sys
import threading
import time
import traceback

_INVOCATION_ENV = contextvars.ContextVar("borescope_lambda_env", default=None)
_DELETED = object()


class InvocationEnviron(collections.abc.MutableMapping):
    """`os.environ` during relayed invocations: reads see the current invocation's variables
    (held in a ContextVar, so asyncio tasks it starts see them too) over the worker's own;
    writes and deletions in an invocation stay in that invocation. Outside any invocation it is
    the worker's real environment."""

    def __init__(self, base):
        self._base = base

    def __getitem__(self, key):
        layer = _INVOCATION_ENV.get()
        if layer is not None and key in layer:
            value = layer[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self._base[key]

    def __setitem__(self, key, value):
        layer = _INVOCATION_ENV.get()
        if layer is None:
            self._base[key] = value
        else:
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("str expected, not %s" % type(value).__name__)
            layer[key] = value

    def __delitem__(self, key):
        layer = _INVOCATION_ENV.get()
        if layer is None:
            del self._base[key]
            return
        if key not in self:
            raise KeyError(key)
        layer[key] = _DELETED

    def _keys(self):
        layer = _INVOCATION_ENV.get() or {}
        keys = [k for k in self._base if k not in layer]
        keys += [k for k, v in layer.items() if v is not _DELETED]
        return keys

    def __iter__(self):
        return iter(self._keys())

    def __len__(self):
        return len(self._keys())

    def copy(self):
        return dict(self)

    def __repr__(self):
        return "environ(%r)" % (dict(self),)


def install_environ():
    """Replaces os.environ (and so os.getenv) by the overlay; idempotent."""
    if not isinstance(os.environ, InvocationEnviron):
        os.environ = InvocationEnviron(os.environ)


# ---------------------------------------------------------------------------------------------
# The context object


class _Fields(object):
    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in sorted(self.__dict__.items())))


class CognitoIdentity(_Fields):
    pass


class ClientContext(_Fields):
    pass


class Client(_Fields):
    pass


class LambdaContext(object):
    """The fields of the Lambda runtime's context, from the relayed invocation."""

    def __init__(self, context):
        self.aws_request_id = context.get("request_id")
        self.function_name = context.get("function_name")
        self.function_version = context.get("function_version")
        self.invoked_function_arn = context.get("function_arn")
        self.memory_limit_in_mb = context.get("memory_limit_mb")
        self.log_group_name = context.get("log_group_name")
        self.log_stream_name = context.get("log_stream_name")
        self._deadline_ms = int(context.get("deadline_ms") or 0)
        identity = context.get("cognito_identity") or {}
        self.identity = CognitoIdentity(
            cognito_identity_id=identity.get("cognitoIdentityId"),
            cognito_identity_pool_id=identity.get("cognitoIdentityPoolId"),
        )
        client_context = context.get("client_context")
        self.client_context = None
        if isinstance(client_context, dict):
            client = client_context.get("client")
            self.client_context = ClientContext(
                custom=client_context.get("custom"),
                env=client_context.get("env"),
                client=Client(**{k: client.get(k) for k in (
                    "installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"
                )}) if isinstance(client, dict) else None,
            )

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self):
        return "LambdaContext(aws_request_id=%r, function_name=%r)" % (self.aws_request_id, self.function_name)


# ---------------------------------------------------------------------------------------------
# Importing handlers from the local code, hot


class HandlerFault(Exception):
    """A failure the runtime reports with a `Runtime.*` type and no user stack."""

    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind
        self.message = message


class HandlerLoader(object):
    """Imports `module.func` handlers from the code directory and re-imports the modules under
    it when one of their files changed since it was imported."""

    def __init__(self, code_dir):
        self.code_dir = os.path.realpath(code_dir)
        self._stamps = {}
        self._lock = threading.Lock()
        # name -> (module, its file when under the code directory): each module's path is
        # resolved once. Resolving every module's path on every invocation cost ~30 ms under a
        # debugger (each os.path call is a traced Python call).
        self._where = {}

    def _local_modules(self):
        found = {}
        where = self._where
        for name, module in list(sys.modules.items()):
            known = where.get(name)
            if known is None or known[0] is not module:
                path = getattr(module, "__file__", None)
                local = path if path and os.path.realpath(path).startswith(self.code_dir + os.sep) else None
                known = where[name] = (module, local)
            if known[1]:
                found[name] = known[1]
        return found

    @staticmethod
    def _stamp(path):
        try:
            st = os.stat(path)
            return st.st_mtime_ns, st.st_size
        except OSError:
            return None

    def _refresh(self):
        local = self._local_modules()
        if any(self._stamps.get(path) != self._stamp(path) for path in local.values()):
            for name in local:
                sys.modules.pop(name, None)
            importlib.invalidate_caches()
            self._stamps = {}

    def load(self, handler):
        """The handler function; HandlerFault as the runtime would report it."""
        try:
            module_name, func_name = handler.rsplit(".", 1)
        except ValueError as exc:
            raise HandlerFault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, exc))
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise HandlerFault("Runtime.BuiltInModuleConflict", "Cannot use built-in module %s as a handler module" % module_name)
        with self._lock:
            self._refresh()
            try:
                module = importlib.import_module(module_name.replace("/", "."))
            except ImportError as exc:
                raise HandlerFault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, exc))
            except SyntaxError as exc:
                raise HandlerFault("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, exc))
            finally:
                for path in self._local_modules().values():
                    self._stamps.setdefault(path, self._stamp(path))
        try:
            return getattr(module, func_name)
        except AttributeError:
            raise HandlerFault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (func_name, module_name))


# ---------------------------------------------------------------------------------------------
# Running one invocation


def _json_default(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def user_stack(tb):
    """[[file, line, function, text], ...] of a traceback without this module's own frames."""
    frames = traceback.extract_tb(tb)
    here = os.path.abspath(__file__)
    while frames and os.path.abspath(frames[0].filename) == here:
        frames = frames[1:]
    return [[f.filename, f.lineno, f.name, f.line or ""] for f in frames]


def run_invocation(loader, message):
    """The `result` or `error` message answering one `invoke` message."""
    ident = message.get("id")
    answer = {"id": ident}
    env = {k: v for k, v in (message.get("env") or {}).items() if isinstance(k, str) and isinstance(v, str)}
    context = message.get("context") or {}
    if context.get("trace_id"):
        env["_X_AMZN_TRACE_ID"] = context["trace_id"]
    token = _INVOCATION_ENV.set(env)
    try:
        handler = loader.load(message.get("handler") or "")
        try:
            event = json.loads(message.get("event") or "null")
        except ValueError as exc:
            raise HandlerFault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % exc)
        result = handler(event, LambdaContext(context))
        try:
            body = json.dumps(result, default=_json_default, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise HandlerFault("Runtime.MarshalError", "Unable to marshal response: %s" % exc)
        answer.update(t="result", body=body)
    except HandlerFault as fault:
        answer.update(t="error", type=fault.kind, message=fault.message, stack=[])
    except Exception as exc:
        answer.update(t="error", type=type(exc).__name__, message=str(exc), stack=user_stack(exc.__traceback__))
    finally:
        _INVOCATION_ENV.reset(token)
    answer["ts"] = int(time.time() * 1000)
    return answer


# ---------------------------------------------------------------------------------------------
# The socket to the CLI


class Frames(object):
    """u32_be(length) || UTF-8 JSON frames on a stream socket; sends are serialised."""

    def __init__(self, sock):
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, message):
        data = json.dumps(message, separators=(",", ":")).encode("utf-8")
        with self._lock:
            self._sock.sendall(struct.pack(">I", len(data)) + data)

    def _exactly(self, n):
        chunks = []
        while n:
            data = self._sock.recv(min(n, 1 << 20))
            if not data:
                return None
            chunks.append(data)
            n -= len(data)
        return b"".join(chunks)

    def receive(self):
        """The next message (dict), or None when the socket closed."""
        head = self._exactly(4)
        if head is None:
            return None
        body = self._exactly(struct.unpack(">I", head)[0])
        if body is None:
            return None
        try:
            message = json.loads(body.decode("utf-8"))
        except ValueError:
            return {}
        return message if isinstance(message, dict) else {}


class InvocationThreads(object):
    """Threads that run invocations: an idle one is reused, a new one started when all are busy,
    so no invocation waits for another. Reuse matters under a debugger: a new thread costs
    tens of milliseconds of debugger bookkeeping, a reused one nothing. A thread is named after
    the invocation it runs (`lambda-REQUEST_ID`), which is what a stop report shows."""

    KEEP_IDLE = 8

    def __init__(self):
        self._lock = threading.Condition()
        self._idle = []
        self._busy = 0

    def submit(self, work, message):
        name = "lambda-%s" % message.get("id")
        with self._lock:
            self._busy += 1
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._loop, args=(inbox,), name=name, daemon=True).start()
        inbox.put((work, message, name))

    def _loop(self, inbox):
        while True:
            work, message, name = inbox.get()
            threading.current_thread().name = name
            try:
                work(message)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()
                    keep = len(self._idle) < self.KEEP_IDLE
                    if keep:
                        self._idle.append(inbox)
            if not keep:
                return

    def wait_idle(self):
        """Returns once no invocation runs (one paused at a breakpoint still runs)."""
        with self._lock:
            while self._busy:
                self._lock.wait()


def serve(frames, loader):
    """Answers invocations until `bye` (returns 0 once running ones finished) or EOF (1)."""
    threads = InvocationThreads()
    frames.send({"t": "hello", "pid": os.getpid(), "python": "%d.%d.%d" % sys.version_info[:3]})

    def run(message):
        answer = run_invocation(loader, message)
        try:
            frames.send(answer)
        except OSError:
            # Nobody listens any more (`lambda invoke --break` returned at the stop): the
            # session's output carries the answer instead.
            if answer.get("t") == "result":
                line = "[borescope] invocation %s returned %s\n" % (answer.get("id"), answer.get("body"))
            else:
                line = "[borescope] invocation %s raised %s: %s\n" % (answer.get("id"), answer.get("type"), answer.get("message"))
            sys.stdout.write(line)
            sys.stdout.flush()

    while True:
        message = frames.receive()
        if message is None:
            # The CLI went away: invocations still running (perhaps paused at a breakpoint)
            # finish and print their answers; then the worker ends.
            threads.wait_idle()
            return 1
        kind = message.get("t")
        if kind == "invoke":
            threads.submit(run, message)
        elif kind == "bye":
            threads.wait_idle()
            return 0


def main():
    path = os.environ.get("BORESCOPE_LAMBDA_WORKER_SOCKET")
    code = os.environ.get("BORESCOPE_LAMBDA_CODE")
    if not path or not code:
        sys.stderr.write("lambda_worker: BORESCOPE_LAMBDA_WORKER_SOCKET and BORESCOPE_LAMBDA_CODE must be set\n")
        return 2
    code = os.path.abspath(code)
    sys.path.insert(0, code)
    # Edits must apply to the next invocation even within the same second: no stale .pyc.
    sys.dont_write_bytecode = True
    for name in ("BORESCOPE_LAMBDA_WORKER_SOCKET", "BORESCOPE_LAMBDA_CODE"):
        os.environ.pop(name, None)
    install_environ()
    listen = os.environ.pop("BORESCOPE_LAMBDA_LISTEN", None)
    if listen:
        host, _, port = listen.rpartition(":")
        import debugpy  # borescope puts its cached copy on PYTHONPATH for --listen

        debugpy.listen((host or "127.0.0.1", int(port)))
        sys.stderr.write("lambda_worker: debugpy listens on %s:%s; attach your editor\n" % (host or "127.0.0.1", port))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sys.stderr.write("lambda_worker: cannot connect to %s: %s\n" % (path, exc))
        return 1
    try:
        return serve(Frames(sock), HandlerLoader(code))
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
