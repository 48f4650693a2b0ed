"""The relay's wire, shared by the Lambda shim and the tests (docs/lambda-relay.md, sections 2-4).

Owns four things, each usable alone:
    WebSocket    -- an RFC 6455 client (ws:// or wss:// with the default CA checks), binary
                    messages, continuation frames, ping/pong, close
    MqttClient   -- MQTT 3.1.1 over that WebSocket: CONNECT (clean session), SUBSCRIBE and
                    PUBLISH at QoS 0, PINGREQ while waiting, DISCONNECT
    presign_iot_url -- the SigV4 query-signed URL of AWS IoT Core's MQTT-over-WebSocket endpoint
    Sealer, chunk, Reassembler -- sealed messages (encrypted, authenticated for their topic,
                    replay-checked) and their chunks for brokers with a message size limit

Standard library only, CPython 3.9+. Nothing here logs, and nothing here knows about Lambda.
"""

import base64
import collections
import datetime
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import threading
import time
import urllib.parse

SEAL_MAGIC = b"BL1"
CHUNK_MAGIC = b"BC1"
CHUNK_PART = 100000
MAX_MESSAGE = 7 * 1024 * 1024
CLOCK_SKEW_MS = 300000
REPLAY_MEMORY = 4096
CHUNK_TIMEOUT_S = 30.0


class RelayError(Exception):
    """The broker or the WebSocket failed: the connection is unusable."""


# ---------------------------------------------------------------------------------------------
# WebSocket (RFC 6455), client side


def _xor(data, key):
    """`data` XOR `key` (same length), as one big-integer operation: fast for megabytes."""
    n = len(data)
    if n == 0:
        return b""
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


class WebSocket(object):
    """One client connection. `receive` keeps partial frames in a buffer, so a timeout never
    loses data; sends are serialised by a lock."""

    def __init__(self, sock):
        self._sock = sock
        self._buffer = bytearray()
        self._fragments = []
        self._send_lock = threading.Lock()
        self.closed = False

    @classmethod
    def connect(cls, url, timeout=10.0, subprotocol="mqtt"):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise RelayError("not a ws:// or wss:// URL: %s" % parts.scheme)
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        try:
            sock = socket.create_connection((parts.hostname, port), timeout=timeout)
        except OSError as exc:
            raise RelayError("cannot reach %s:%d: %s" % (parts.hostname, port, exc))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if secure:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
            key = base64.b64encode(os.urandom(16)).decode("ascii")
            host = parts.hostname if parts.port is None else "%s:%d" % (parts.hostname, port)
            request = (
                "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: %s\r\n\r\n" % (path, host, key, subprotocol)
            )
            sock.sendall(request.encode("ascii"))
            ws = cls(sock)
            head = ws._read_head(time.monotonic() + timeout)
            ws._check_handshake(head, key)
            return ws
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise RelayError("WebSocket handshake with %s failed: %s" % (parts.hostname, exc))
        except RelayError:
            sock.close()
            raise

    def _read_head(self, deadline):
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > 65536:
                raise RelayError("the WebSocket handshake answer is too long")
            if not self._fill(deadline):
                raise RelayError("no WebSocket handshake answer in time")
        end = self._buffer.index(b"\r\n\r\n") + 4
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[:end]
        return head

    @staticmethod
    def _check_handshake(head, key):
        lines = head.split("\r\n")
        status = lines[0].split(" ")
        if len(status) < 2 or status[1] != "101":
            raise RelayError("the broker refused the WebSocket upgrade: %s" % lines[0])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode("ascii")).digest())
        if headers.get("sec-websocket-accept", "").encode("ascii", "replace") != accept:
            raise RelayError("the broker's Sec-WebSocket-Accept does not match")

    def _fill(self, deadline):
        """Reads what the socket has into the buffer; False on timeout. Raises on EOF."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(262144)
        except socket.timeout:
            return False
        except (OSError, ssl.SSLError) as exc:
            self.closed = True
            raise RelayError("connection lost: %s" % exc)
        if not data:
            self.closed = True
            raise RelayError("the broker closed the connection")
        self._buffer += data
        return True

    def _frame(self):
        """(fin, opcode, payload) of the first complete frame in the buffer, or None."""
        buf = self._buffer
        if len(buf) < 2:
            return None
        fin, opcode = buf[0] & 0x80, buf[0] & 0x0F
        masked, length, offset = buf[1] & 0x80, buf[1] & 0x7F, 2
        if length == 126:
            if len(buf) < 4:
                return None
            length, offset = struct.unpack_from(">H", buf, 2)[0], 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, offset = struct.unpack_from(">Q", buf, 2)[0], 10
        if length > MAX_MESSAGE + 65536:
            raise RelayError("a WebSocket frame of %d bytes is over the limit" % length)
        mask = b""
        if masked:
            mask, offset = bytes(buf[offset:offset + 4]), offset + 4
        if len(buf) < offset + length:
            return None
        payload = bytes(buf[offset:offset + length])
        del buf[:offset + length]
        if masked:
            payload = _xor(payload, (mask * (length // 4 + 1))[:length])
        return bool(fin), opcode, payload

    def _send_frame(self, opcode, payload):
        header = bytearray([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header.append(0x80 | 126)
            header += struct.pack(">H", n)
        else:
            header.append(0x80 | 127)
            header += struct.pack(">Q", n)
        mask = os.urandom(4)
        header += mask
        body = _xor(payload, (mask * (n // 4 + 1))[:n])
        with self._send_lock:
            try:
                self._sock.settimeout(30.0)
                self._sock.sendall(bytes(header) + body)
            except (OSError, ssl.SSLError) as exc:
                self.closed = True
                raise RelayError("send failed: %s" % exc)

    def send(self, payload):
        """Sends one binary message."""
        if self.closed:
            raise RelayError("the WebSocket is closed")
        self._send_frame(0x2, payload)

    def receive(self, timeout):
        """The next whole data message (bytes), None when `timeout` seconds pass first.
        Pings are answered; a close frame raises RelayError."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            frame = self._frame()
            if frame is None:
                if not self._fill(deadline):
                    return None
                continue
            fin, opcode, payload = frame
            if opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode == 0xA:
                pass
            elif opcode == 0x8:
                self.closed = True
                raise RelayError("the broker closed the WebSocket")
            elif opcode in (0x0, 0x1, 0x2):
                self._fragments.append(payload)
                if sum(len(f) for f in self._fragments) > MAX_MESSAGE + 65536:
                    raise RelayError("a WebSocket message is over the limit")
                if fin:
                    message = b"".join(self._fragments)
                    self._fragments = []
                    return message

    def close(self):
        if not self.closed:
            try:
                self._send_frame(0x8, struct.pack(">H", 1000))
            except RelayError:
                pass
        self.closed = True
        try:
            self._sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# MQTT 3.1.1 at QoS 0


def _utf8(text):
    data = text.encode("utf-8")
    return struct.pack(">H", len(data)) + data


def _packet(kind, body):
    header = bytearray([kind])
    n = len(body)
    while True:
        byte, n = n % 128, n // 128
        header.append(byte | (0x80 if n else 0))
        if not n:
            break
    return bytes(header) + body


class MqttClient(object):
    """A clean-session MQTT 3.1.1 client on a WebSocket. Not for several readers at once."""

    def __init__(self, ws, keepalive=60):
        self._ws = ws
        self.keepalive = keepalive
        self._buffer = bytearray()
        self._next_id = 1
        self._last_sent = time.monotonic()

    @classmethod
    def connect(cls, url, client_id, timeout=10.0, keepalive=60):
        ws = WebSocket.connect(url, timeout=timeout)
        client = cls(ws, keepalive)
        try:
            body = _utf8("MQTT") + bytes([4, 0x02]) + struct.pack(">H", keepalive) + _utf8(client_id)
            client._send(_packet(0x10, body))
            kind, payload = client._expect(0x20, timeout)
            if len(payload) < 2 or payload[1] != 0:
                code = payload[1] if len(payload) >= 2 else -1
                raise RelayError("the broker refused the MQTT connection (CONNACK code %d)" % code)
        except RelayError:
            ws.close()
            raise
        return client

    @property
    def closed(self):
        return self._ws.closed

    def _send(self, data):
        self._ws.send(data)
        self._last_sent = time.monotonic()

    def _packet_from_buffer(self):
        buf = self._buffer
        if len(buf) < 2:
            return None
        length, shift, i = 0, 0, 1
        while True:
            if i >= len(buf):
                return None
            byte = buf[i]
            length |= (byte & 0x7F) << shift
            i += 1
            if not byte & 0x80:
                break
            shift += 7
            if shift > 21:
                raise RelayError("malformed MQTT packet length")
        if len(buf) < i + length:
            return None
        kind, body = buf[0], bytes(buf[i:i + length])
        del buf[:i + length]
        return kind, body

    def _read_packet(self, deadline):
        """The next MQTT packet, or None at the deadline."""
        while True:
            packet = self._packet_from_buffer()
            if packet is not None:
                return packet
            message = self._ws.receive(deadline - time.monotonic())
            if message is None:
                return None
            self._buffer += message

    def _expect(self, kind, timeout):
        deadline = time.monotonic() + timeout
        while True:
            packet = self._read_packet(deadline)
            if packet is None:
                raise RelayError("no answer from the MQTT broker in time")
            if packet[0] & 0xF0 == kind:
                return packet

    def subscribe(self, topic, timeout=10.0):
        packet_id = self._next_id
        self._next_id = self._next_id % 65535 + 1
        self._send(_packet(0x82, struct.pack(">H", packet_id) + _utf8(topic) + b"\x00"))
        kind, body = self._expect(0x90, timeout)
        if len(body) < 3 or body[2] == 0x80:
            raise RelayError("the broker refused the subscription to %s" % topic)

    def publish(self, topic, payload):
        self._send(_packet(0x30, _utf8(topic) + payload))

    def ping(self):
        self._send(_packet(0xC0, b""))

    def receive(self, timeout):
        """(topic, payload bytes) of the next PUBLISH, or None when `timeout` seconds pass.
        While waiting, a PINGREQ goes out every keepalive/2 seconds of silence."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            ping_at = self._last_sent + self.keepalive / 2.0
            now = time.monotonic()
            if now >= ping_at:
                self.ping()
                continue
            packet = self._read_packet(min(deadline, ping_at))
            if packet is None:
                if time.monotonic() >= deadline:
                    return None
                continue
            kind, body = packet
            if kind & 0xF0 == 0x30 and len(body) >= 2:
                n = struct.unpack_from(">H", body, 0)[0]
                topic = body[2:2 + n].decode("utf-8", "replace")
                rest = 2 + n + (2 if kind & 0x06 else 0)
                return topic, body[rest:]

    def disconnect(self):
        try:
            self._send(_packet(0xE0, b""))
        except RelayError:
            pass
        self._ws.close()


# ---------------------------------------------------------------------------------------------
# SigV4 query signing (AWS IoT Core's WebSocket endpoint)


def _quote(text):
    return urllib.parse.quote(text, safe="-_.~")


def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def presign_url(method, host, path, service, region, access_key, secret_key, now, params=(), payload_hash=None):
    """(canonical query string, signature) of a SigV4 query-signed request signing only `host`.
    `now` is an aware or naive-UTC datetime; `params` are extra (name, value) query pairs."""
    if now.tzinfo is not None:
        now = now.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    query = [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", "%s/%s" % (access_key, scope)),
        ("X-Amz-Date", amz_date),
        ("X-Amz-SignedHeaders", "host"),
    ] + list(params)
    canonical_query = "&".join("%s=%s" % (_quote(k), _quote(v)) for k, v in sorted(query))
    if payload_hash is None:
        payload_hash = hashlib.sha256(b"").hexdigest()
    canonical = "\n".join([method, path, canonical_query, "host:" + host, "", "host", payload_hash])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return canonical_query, hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def presign_iot_url(host, region, access_key, secret_key, session_token, now):
    """The presigned `wss://HOST/mqtt?...` URL for IoT Core (service iotdevicegateway, GET, empty
    payload); the session token is appended after signing, as IoT Core expects."""
    query, signature = presign_url("GET", host, "/mqtt", "iotdevicegateway", region, access_key, secret_key, now)
    url = "wss://%s/mqtt?%s&X-Amz-Signature=%s" % (host, query, signature)
    if session_token:
        url += "&X-Amz-Security-Token=" + _quote(session_token)
    return url


# ---------------------------------------------------------------------------------------------
# Sealed messages and chunks


def decode_secret(text):
    """The 32-byte secret from its base64url form (padding optional)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _keystream_xor(enc_key, nonce, data):
    blocks = (len(data) + 63) // 64
    stream = b"".join(
        hashlib.blake2b(nonce + struct.pack("<Q", i), key=enc_key, digest_size=64).digest() for i in range(blocks)
    )
    return _xor(data, stream[:len(data)])


class Sealer(object):
    """Seals and unseals messages with one attach's secret. Unsealing drops (and counts in
    `dropped`) what fails the tag for its topic, the clock window or the replay memory."""

    def __init__(self, secret, clock=time.time):
        self._enc = hmac.new(secret, b"borescope-lambda enc", hashlib.sha256).digest()
        self._mac = hmac.new(secret, b"borescope-lambda mac", hashlib.sha256).digest()
        self._clock = clock
        self._seen = collections.OrderedDict()
        self._lock = threading.Lock()
        self.dropped = 0

    def seal(self, topic, message):
        """The sealed bytes of `message` (a dict; `ts` is set to now when missing)."""
        if "ts" not in message:
            message = dict(message, ts=int(self._clock() * 1000))
        plain = json.dumps(message, separators=(",", ":")).encode("utf-8")
        nonce = os.urandom(16)
        cipher = _keystream_xor(self._enc, nonce, plain)
        tag = hmac.new(self._mac, topic.encode("utf-8") + b"\x00" + nonce + cipher, hashlib.sha256).digest()
        return SEAL_MAGIC + nonce + tag + cipher

    def unseal(self, topic, sealed):
        """The message (dict) or None when it must be dropped."""
        message = self._open(topic, sealed)
        if message is None:
            self.dropped += 1
        return message

    def _open(self, topic, sealed):
        if len(sealed) < 51 or sealed[:3] != SEAL_MAGIC:
            return None
        nonce, tag, cipher = sealed[3:19], sealed[19:51], sealed[51:]
        expected = hmac.new(self._mac, topic.encode("utf-8") + b"\x00" + nonce + cipher, hashlib.sha256).digest()
        if not hmac.compare_digest(tag, expected):
            return None
        try:
            message = json.loads(_keystream_xor(self._enc, nonce, cipher).decode("utf-8"))
        except ValueError:
            return None
        if not isinstance(message, dict):
            return None
        ts, ident, kind = message.get("ts"), message.get("id"), message.get("t")
        if not isinstance(ts, (int, float)) or abs(ts - self._clock() * 1000) > CLOCK_SKEW_MS:
            return None
        key = (str(ident), str(kind))
        with self._lock:
            if key in self._seen:
                return None
            self._seen[key] = True
            while len(self._seen) > REPLAY_MEMORY:
                self._seen.popitem(last=False)
        return message


def chunk(sealed):
    """The MQTT payloads carrying `sealed`: itself when small, else BC1 chunks."""
    if len(sealed) <= CHUNK_PART:
        return [sealed]
    message_id = os.urandom(16)
    parts = [sealed[i:i + CHUNK_PART] for i in range(0, len(sealed), CHUNK_PART)]
    count = len(parts)
    return [CHUNK_MAGIC + message_id + struct.pack(">HH", i, count) + part for i, part in enumerate(parts)]


class Reassembler(object):
    """Turns received payloads back into sealed messages. Memory is bounded: a message over
    MAX_MESSAGE is refused, one incomplete after CHUNK_TIMEOUT_S is forgotten, and at most
    `max_pending` messages are assembled at once (the oldest is forgotten)."""

    def __init__(self, clock=time.monotonic, max_pending=8):
        self._clock = clock
        self._pending = collections.OrderedDict()
        self._max_pending = max_pending
        self.dropped = 0

    def add(self, payload):
        """The whole sealed message once complete, else None."""
        if payload[:3] != CHUNK_MAGIC:
            return payload
        now = self._clock()
        for key in [k for k, v in self._pending.items() if now - v["first"] > CHUNK_TIMEOUT_S]:
            del self._pending[key]
            self.dropped += 1
        if len(payload) < 23:
            self.dropped += 1
            return None
        message_id = payload[3:19]
        index, count = struct.unpack_from(">HH", payload, 19)
        part = payload[23:]
        if count == 0 or index >= count or len(part) > CHUNK_PART or count * CHUNK_PART > MAX_MESSAGE + CHUNK_PART:
            self.dropped += 1
            return None
        entry = self._pending.get(message_id)
        if entry is None:
            while len(self._pending) >= self._max_pending:
                self._pending.popitem(last=False)
                self.dropped += 1
            entry = self._pending[message_id] = {"first": now, "count": count, "parts": {}, "size": 0}
        if entry["count"] != count or index in entry["parts"]:
            return None
        entry["parts"][index] = part
        entry["size"] += len(part)
        if entry["size"] > MAX_MESSAGE:
            del self._pending[message_id]
            self.dropped += 1
            return None
        if len(entry["parts"]) < count:
            return None
        del self._pending[message_id]
        return b"".join(entry["parts"][i] for i in range(count))
