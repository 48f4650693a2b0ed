"""The Lambda shim: the handler borescope's layer puts in place of the function's own while it is
attached (docs/lambda-relay.md, section 6). `borescope_agent.lambda_shim.handler` relays each
invocation to the developer's machine over the MQTT relay and answers with what the local
handler returned or raised.

It must never harm the function: when nobody answers within 5 s, or when anything of its own
fails (configuration, signing, the broker), it logs one `[borescope]` line and runs the
function's own handler (BORESCOPE_LAMBDA_HANDLER), imported the way the runtime imports
handlers. One MQTT connection per execution environment, opened at the first invocation and
kept (re-opened after a failure or a long freeze).

Standard library only (runs on the managed runtime's Python). The function's environment sent
to the developer holds its temporary credentials: nothing here writes it anywhere else.
"""

import builtins
import datetime
import importlib
import json
import linecache
import os
import sys
import time
import types
import urllib.parse

from borescope_agent import lambda_relay

HANDLER = "borescope_agent.lambda_shim.handler"
ACK_RETRY_S = 1.5
ACK_GIVE_UP_S = 5.0
IDLE_RECONNECT_S = 60.0
MAX_STACK = 200
ENV_LEFT_OUT = frozenset([
    "AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "PATH",
    "LD_LIBRARY_PATH", "PYTHONPATH", "AWS_LAMBDA_EXEC_WRAPPER", "_X_AMZN_TRACE_ID",
])
NO_ANSWER = "no answer from the developer's machine within 5 s; running the function's own handler"


def _log(line):
    sys.stdout.write("[borescope] %s\n" % line)
    sys.stdout.flush()


class ShimError(Exception):
    """Something of the shim's own failed: the invocation falls back to the original handler."""


# ---------------------------------------------------------------------------------------------
# The connection to the relay


class Link(object):
    """This execution environment's connection: publishes sealed `invoke`s on the up topic and
    reads sealed answers from its own down topic."""

    def __init__(self, config):
        try:
            self.relay = config["relay"]
            self.region = config.get("region") or os.environ.get("AWS_REGION", "")
            prefix = config["prefix"]
            self.sealer = lambda_relay.Sealer(lambda_relay.decode_secret(config["secret"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ShimError("BORESCOPE_LAMBDA is malformed (%s: %s)" % (type(exc).__name__, exc))
        # Chosen per process at its first invocation: runtimes that fork workers after importing
        # the handler get one id (one MQTT client id, one down topic) each.
        self.worker_id = os.urandom(8).hex()
        self.pid = os.getpid()
        self.up = "borescope/%s/up" % prefix
        self.down = "borescope/%s/down/%s" % (prefix, self.worker_id)
        self.client_id = "borescope-%s-%s" % (prefix, self.worker_id)
        self.mqtt = None
        self.reassembler = lambda_relay.Reassembler()
        self.last_activity = 0.0

    def _url(self):
        if self.relay.startswith("ws://"):
            return self.relay
        host = urllib.parse.urlsplit(self.relay).hostname
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not host or not key or not secret:
            raise ShimError("cannot sign the relay URL: no host or no credentials in the environment")
        now = datetime.datetime.now(datetime.timezone.utc)
        return lambda_relay.presign_iot_url(host, self.region, key, secret, os.environ.get("AWS_SESSION_TOKEN"), now)

    def close(self):
        if self.mqtt is not None:
            self.mqtt.disconnect()
            self.mqtt = None

    def connect(self):
        self.close()
        self.mqtt = lambda_relay.MqttClient.connect(self._url(), self.client_id, timeout=3.0)
        self.mqtt.subscribe(self.down, timeout=3.0)
        self.last_activity = time.monotonic()

    def ensure(self):
        """Connected, and not after a long silence (a frozen environment's socket is likely dead)."""
        if self.mqtt is None or self.mqtt.closed or time.monotonic() - self.last_activity > IDLE_RECONNECT_S:
            self.connect()

    def publish(self, message):
        for part in lambda_relay.chunk(self.sealer.seal(self.up, message)):
            self.mqtt.publish(self.up, part)
        self.last_activity = time.monotonic()

    def receive(self, deadline):
        """The next answer (dict) before `deadline` (monotonic), or None."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            got = self.mqtt.receive(remaining)
            if got is None:
                return None
            self.last_activity = time.monotonic()
            topic, payload = got
            if topic != self.down:
                self.sealer.dropped += 1
                continue
            sealed = self.reassembler.add(payload)
            if sealed is None:
                continue
            message = self.sealer.unseal(topic, sealed)
            if message is not None:
                return message


_LINK = None


def _link():
    global _LINK
    if _LINK is not None and _LINK.pid != os.getpid():
        _LINK = None
    if _LINK is None:
        try:
            config = json.loads(os.environ.get("BORESCOPE_LAMBDA", ""))
        except ValueError:
            raise ShimError("BORESCOPE_LAMBDA is not JSON")
        if not isinstance(config, dict):
            raise ShimError("BORESCOPE_LAMBDA is not a JSON object")
        _LINK = Link(config)
    return _LINK


# ---------------------------------------------------------------------------------------------
# The invoke message


def _context_message(context):
    deadline = getattr(context, "_epoch_deadline_time_in_ms", None)
    if not isinstance(deadline, int):
        deadline = int(time.time() * 1000) + int(context.get_remaining_time_in_millis())
    client_context = None
    cc = getattr(context, "client_context", None)
    if cc is not None:
        client = getattr(cc, "client", None)
        client_context = {
            "custom": getattr(cc, "custom", None),
            "env": getattr(cc, "env", None),
            "client": None if client is None else {
                name: getattr(client, name, None) for name in (
                    "installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")
            },
        }
    identity = getattr(context, "identity", None)
    cognito = None
    if identity is not None and getattr(identity, "cognito_identity_id", None) is not None:
        cognito = {
            "cognitoIdentityId": identity.cognito_identity_id,
            "cognitoIdentityPoolId": getattr(identity, "cognito_identity_pool_id", None),
        }
    return {
        "request_id": context.aws_request_id,
        "deadline_ms": deadline,
        "function_arn": getattr(context, "invoked_function_arn", None),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "client_context": client_context,
        "cognito_identity": cognito,
        "function_name": getattr(context, "function_name", None),
        "function_version": getattr(context, "function_version", None),
        "memory_limit_mb": getattr(context, "memory_limit_in_mb", None),
        "log_group_name": getattr(context, "log_group_name", None),
        "log_stream_name": getattr(context, "log_stream_name", None),
    }


def invoke_message(event, context, worker_id):
    env = {
        k: v for k, v in os.environ.items()
        if k not in ENV_LEFT_OUT and not k.startswith("BORESCOPE_LAMBDA")
    }
    try:
        event_text = json.dumps(event, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ShimError("the event cannot be relayed as JSON: %s" % exc)
    return {
        "t": "invoke",
        "id": context.aws_request_id,
        "w": worker_id,
        "fn": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "handler": os.environ.get("BORESCOPE_LAMBDA_HANDLER", ""),
        "event": event_text,
        "context": _context_message(context),
        "env": env,
    }


# ---------------------------------------------------------------------------------------------
# The relayed invocation


def relay(event, context):
    """The answer (`result` or `error` message) from the developer's machine, or None when the
    function's own handler must run (nobody answered the `invoke` in time)."""
    link = _link()
    message = invoke_message(event, context, link.worker_id)
    ident = message["id"]
    start = time.monotonic()
    acked = None
    for attempt in (0, 1):
        try:
            link.ensure()
            link.publish(dict(message, ts=int(time.time() * 1000)))
            acked = _wait(link, ident, start + (ACK_RETRY_S if attempt == 0 else ACK_GIVE_UP_S), ("ack", "result", "error"))
        except lambda_relay.RelayError as exc:
            link.close()
            if attempt == 1:
                raise ShimError("the relay failed: %s" % exc)
            continue
        if acked is not None:
            break
        link.close()
    if acked is None:
        _log(NO_ANSWER)
        return None
    if acked["t"] != "ack":
        return acked
    deadline = time.monotonic() + max(context.get_remaining_time_in_millis() - 100, 0) / 1000.0
    try:
        answer = _wait(link, ident, deadline, ("result", "error"))
    except lambda_relay.RelayError:
        link.close()
        link.connect()
        answer = _wait(link, ident, deadline, ("result", "error"))
    if answer is None:
        return {"t": "error", "type": "BorescopeTimeout", "stack": [],
                "message": "the local handler did not answer before the function's deadline"}
    return answer


def _wait(link, ident, deadline, kinds):
    while True:
        message = link.receive(deadline)
        if message is None:
            return None
        if message.get("id") == ident and message.get("t") in kinds:
            return message


# ---------------------------------------------------------------------------------------------
# Raising the local error with its local frames


def _error_class(name):
    base = getattr(builtins, name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = Exception

    def __init__(self, message):
        Exception.__init__(self, message)
        self._borescope_message = message

    def __str__(self):
        return self._borescope_message

    try:
        return type(name, (base,), {"__init__": __init__, "__str__": __str__, "__module__": "borescope.local"})
    except TypeError:
        return type(name, (Exception,), {"__init__": __init__, "__str__": __str__, "__module__": "borescope.local"})


def _remember_line(filename, lineno, text):
    """Lets tracebacks show `text` for a local file Lambda does not have."""
    if os.path.exists(filename):
        return
    entry = linecache.cache.get(filename)
    lines = list(entry[2]) if entry and len(entry) == 4 else []
    while len(lines) < lineno:
        lines.append("\n")
    lines[lineno - 1] = (text or "").rstrip("\n") + "\n"
    linecache.cache[filename] = (sum(len(x) for x in lines), None, lines, filename)


def _frame_function(filename, lineno, name, body, names):
    """A function whose only line, `body` at `filename`:`lineno`, runs in a frame named `name`."""
    module = compile("\n" * (lineno - 1) + "def _f(): " + body + "\n", filename, "exec")
    code = next(c for c in module.co_consts if hasattr(c, "co_code"))
    fields = {"co_name": name}
    if hasattr(code, "co_qualname"):
        fields["co_qualname"] = name
    return types.FunctionType(code.replace(**fields), dict(names, __builtins__=builtins))


def local_raiser(answer):
    """A function raising the exception an `error` answer describes, through frames carrying
    the local files, lines and function names (innermost last). The caller calls it outside
    any `except` block, so the report shows the local failure only."""
    exc = _error_class(str(answer.get("type") or "Exception"))(str(answer.get("message") or ""))
    stack = [f for f in (answer.get("stack") or []) if isinstance(f, list) and len(f) >= 3][-MAX_STACK:]
    call = None
    for frame in reversed(stack):
        filename, lineno, name = str(frame[0]), frame[1], str(frame[2])
        lineno = lineno if isinstance(lineno, int) and 0 < lineno < 1000000 else 1
        _remember_line(filename, lineno, str(frame[3]) if len(frame) > 3 and frame[3] else "")
        if call is None:
            call = _frame_function(filename, lineno, name, "raise __borescope_exc", {"__borescope_exc": exc})
        else:
            call = _frame_function(filename, lineno, name, "__borescope_next()", {"__borescope_next": call})
    if call is None:
        call = _frame_function("<borescope>", 1, "relayed", "raise __borescope_exc", {"__borescope_exc": exc})
    return call


# ---------------------------------------------------------------------------------------------
# The function's own handler


_ORIGINAL = None


def original_handler():
    """The function's own handler, imported as the runtime does (`a/b.c.func`)."""
    global _ORIGINAL
    if _ORIGINAL is None:
        name = os.environ.get("BORESCOPE_LAMBDA_HANDLER", "")
        try:
            module_name, func = name.rsplit(".", 1)
        except ValueError:
            raise _error_class("Runtime.MalformedHandlerName")("Bad handler '%s'" % name)
        try:
            module = importlib.import_module(module_name.replace("/", "."))
        except ImportError as exc:
            raise _error_class("Runtime.ImportModuleError")("Unable to import module '%s': %s" % (module_name, exc))
        try:
            _ORIGINAL = getattr(module, func)
        except AttributeError:
            raise _error_class("Runtime.HandlerNotFound")("Handler '%s' missing on module '%s'" % (func, module_name))
    return _ORIGINAL


def handler(event, context):
    """The shim's handler: the local answer, or the function's own handler's."""
    try:
        answer = relay(event, context)
    except Exception as exc:
        global _LINK
        if _LINK is not None:
            try:
                _LINK.close()
            except Exception:
                pass
        _log("relay unavailable (%s: %s); running the function's own handler" % (type(exc).__name__, exc))
        answer = None
    if answer is None:
        return original_handler()(event, context)
    if answer.get("t") == "result":
        try:
            return json.loads(answer.get("body") or "null")
        except ValueError:
            _log("the developer's machine sent a malformed result; running the function's own handler")
            return original_handler()(event, context)
    raiser = local_raiser(answer)
    raiser()
