"""The relay's wire (borescope_agent.lambda_relay): sealing, chunks, SigV4 presigning, and the
WebSocket/MQTT client against a real mosquitto broker on loopback."""

import datetime
import hashlib
import hmac
import os
import threading
import urllib.parse

import pytest

from borescope_agent import lambda_relay
from lambda_support import Broker, listening_addresses, new_secret

TOPIC = "borescope/3f9c/down/0123456789abcdef"


def test_sealed_message_round_trip_and_ciphertext_hides_the_plaintext():
    secret, _ = new_secret()
    a, b = lambda_relay.Sealer(secret), lambda_relay.Sealer(secret)
    message = {"t": "result", "id": "req-1", "body": '{"total": 42, "card": "4111"}'}
    sealed = a.seal(TOPIC, message)
    assert sealed[:3] == b"BL1"
    assert b"4111" not in sealed and b"req-1" not in sealed
    opened = b.unseal(TOPIC, sealed)
    assert opened["body"] == message["body"] and opened["id"] == "req-1" and isinstance(opened["ts"], int)
    assert b.dropped == 0


def test_a_tampered_byte_is_dropped_and_counted():
    secret, _ = new_secret()
    a, b = lambda_relay.Sealer(secret), lambda_relay.Sealer(secret)
    sealed = bytearray(a.seal(TOPIC, {"t": "ack", "id": "req-1"}))
    sealed[-3] ^= 0x01
    assert b.unseal(TOPIC, bytes(sealed)) is None
    assert b.dropped == 1


def test_another_secret_cannot_open_or_forge():
    a, b = lambda_relay.Sealer(new_secret()[0]), lambda_relay.Sealer(new_secret()[0])
    assert b.unseal(TOPIC, a.seal(TOPIC, {"t": "ack", "id": "x"})) is None


def test_a_replayed_message_is_dropped():
    secret, _ = new_secret()
    a, b = lambda_relay.Sealer(secret), lambda_relay.Sealer(secret)
    sealed = a.seal(TOPIC, {"t": "ack", "id": "req-1"})
    assert b.unseal(TOPIC, sealed) is not None
    assert b.unseal(TOPIC, sealed) is None
    # A new seal of the same id and type is a replay too; another type of the same id is not.
    assert b.unseal(TOPIC, a.seal(TOPIC, {"t": "ack", "id": "req-1"})) is None
    assert b.unseal(TOPIC, a.seal(TOPIC, {"t": "result", "id": "req-1", "body": "1"})) is not None
    assert b.dropped == 2


def test_the_replay_memory_is_bounded():
    secret, _ = new_secret()
    a, b = lambda_relay.Sealer(secret), lambda_relay.Sealer(secret)
    first = a.seal(TOPIC, {"t": "ack", "id": "old"})
    assert b.unseal(TOPIC, first) is not None
    for i in range(lambda_relay.REPLAY_MEMORY):
        b.unseal(TOPIC, a.seal(TOPIC, {"t": "ack", "id": "n%d" % i}))
    assert len(b._seen) == lambda_relay.REPLAY_MEMORY
    assert ("old", "ack") not in b._seen


def test_a_message_for_another_topic_is_dropped():
    secret, _ = new_secret()
    a, b = lambda_relay.Sealer(secret), lambda_relay.Sealer(secret)
    sealed = a.seal("borescope/3f9c/down/ffffffffffffffff", {"t": "result", "id": "r", "body": "1"})
    assert b.unseal(TOPIC, sealed) is None
    assert b.dropped == 1


def test_a_message_outside_the_clock_window_is_dropped():
    secret, _ = new_secret()
    now = [1764460800.0]
    a = lambda_relay.Sealer(secret, clock=lambda: now[0])
    b = lambda_relay.Sealer(secret, clock=lambda: now[0] + 301)
    assert b.unseal(TOPIC, a.seal(TOPIC, {"t": "ack", "id": "r"})) is None
    c = lambda_relay.Sealer(secret, clock=lambda: now[0] + 299)
    assert c.unseal(TOPIC, a.seal(TOPIC, {"t": "ack", "id": "r2"})) is not None


def test_the_sealed_layout_is_the_contracts():
    """An independent reading of docs/lambda-relay.md section 3 opens a sealed message."""
    secret, _ = new_secret()
    sealed = lambda_relay.Sealer(secret).seal(TOPIC, {"t": "ack", "id": "r", "ts": 5})
    enc = hmac.new(secret, b"borescope-lambda enc", hashlib.sha256).digest()
    mac = hmac.new(secret, b"borescope-lambda mac", hashlib.sha256).digest()
    nonce, tag, cipher = sealed[3:19], sealed[19:51], sealed[51:]
    assert tag == hmac.new(mac, TOPIC.encode() + b"\x00" + nonce + cipher, hashlib.sha256).digest()
    stream = b""
    counter = 0
    while len(stream) < len(cipher):
        stream += hashlib.blake2b(nonce + counter.to_bytes(8, "little"), key=enc, digest_size=64).digest()
        counter += 1
    assert bytes(x ^ y for x, y in zip(cipher, stream)) == b'{"t":"ack","id":"r","ts":5}'


def test_chunks_of_a_1_mb_message_are_reassembled():
    secret, _ = new_secret()
    a, b = lambda_relay.Sealer(secret), lambda_relay.Sealer(secret)
    body = os.urandom(500000).hex()
    chunks = lambda_relay.chunk(a.seal(TOPIC, {"t": "result", "id": "big", "body": body}))
    assert len(chunks) == 11
    assert all(c[:3] == b"BC1" and len(c) <= 100000 + 23 for c in chunks)
    assembler = lambda_relay.Reassembler()
    outputs = [assembler.add(c) for c in chunks]
    assert outputs[:-1] == [None] * 10
    assert b.unseal(TOPIC, outputs[-1])["body"] == body


def test_a_small_message_is_one_payload():
    sealed = lambda_relay.Sealer(new_secret()[0]).seal(TOPIC, {"t": "ack", "id": "r"})
    assert lambda_relay.chunk(sealed) == [sealed]
    assert lambda_relay.Reassembler().add(sealed) == sealed


def test_a_tampered_chunk_drops_the_message():
    secret, _ = new_secret()
    a, b = lambda_relay.Sealer(secret), lambda_relay.Sealer(secret)
    chunks = lambda_relay.chunk(a.seal(TOPIC, {"t": "result", "id": "big", "body": "x" * 300000}))
    chunks[1] = chunks[1][:500] + bytes([chunks[1][500] ^ 0xFF]) + chunks[1][501:]
    assembler = lambda_relay.Reassembler()
    whole = [assembler.add(c) for c in chunks][-1]
    assert whole is not None and b.unseal(TOPIC, whole) is None


def test_messages_over_7_mb_are_refused_and_stale_parts_forgotten():
    now = [0.0]
    assembler = lambda_relay.Reassembler(clock=lambda: now[0])
    ident = os.urandom(16)
    too_many = b"BC1" + ident + (0).to_bytes(2, "big") + (80).to_bytes(2, "big") + b"x" * 100000
    assert assembler.add(too_many) is None and assembler.dropped == 1 and not assembler._pending
    partial = b"BC1" + ident + (0).to_bytes(2, "big") + (2).to_bytes(2, "big") + b"x" * 10
    assert assembler.add(partial) is None and len(assembler._pending) == 1
    now[0] = 31.0
    other = b"BC1" + os.urandom(16) + (0).to_bytes(2, "big") + (2).to_bytes(2, "big") + b"y"
    assembler.add(other)
    assert ident not in assembler._pending


def test_presign_matches_the_published_sigv4_query_example():
    """AWS's own example of a query-signed request (S3 GET /test.txt, 2013-05-24)."""
    query, signature = lambda_relay.presign_url(
        "GET", "examplebucket.s3.amazonaws.com", "/test.txt", "s3", "us-east-1",
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        datetime.datetime(2013, 5, 24, 0, 0, 0), params=[("X-Amz-Expires", "86400")], payload_hash="UNSIGNED-PAYLOAD",
    )
    assert signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    assert "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" in query


def _reference_iot_signature(host, region, key, secret, when):
    """A second, straightforward SigV4 for the IoT WebSocket URL, written from the spec."""
    amz = when.strftime("%Y%m%dT%H%M%SZ")
    scope = "%s/%s/iotdevicegateway/aws4_request" % (amz[:8], region)
    qs = urllib.parse.urlencode(sorted({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": key + "/" + scope,
        "X-Amz-Date": amz, "X-Amz-SignedHeaders": "host",
    }.items()), quote_via=urllib.parse.quote, safe="")
    request = "GET\n/mqtt\n%s\nhost:%s\n\nhost\n%s" % (qs, host, hashlib.sha256(b"").hexdigest())
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz, scope, hashlib.sha256(request.encode()).hexdigest())
    k = ("AWS4" + secret).encode()
    for part in (amz[:8], region, "iotdevicegateway", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return qs, hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


def test_presigned_iot_url():
    host = "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com"
    when = datetime.datetime(2026, 11, 30, 12, 34, 56, tzinfo=datetime.timezone.utc)
    token = "IQoJb3JpZ2luX2VjE/a+b=="
    url = lambda_relay.presign_iot_url(host, "eu-west-1", "ASIAEXAMPLE", "s3cr3t/key", token, when)
    qs, signature = _reference_iot_signature(host, "eu-west-1", "ASIAEXAMPLE", "s3cr3t/key", when)
    assert url == "wss://%s/mqtt?%s&X-Amz-Signature=%s&X-Amz-Security-Token=%s" % (
        host, qs, signature, "IQoJb3JpZ2luX2VjE%2Fa%2Bb%3D%3D")
    no_token = lambda_relay.presign_iot_url(host, "eu-west-1", "ASIAEXAMPLE", "s3cr3t/key", None, when)
    assert "X-Amz-Security-Token" not in no_token and no_token.endswith(signature)


# ---------------------------------------------------------------------------------------------
# Over a real broker


@pytest.fixture
def broker(tmp_path):
    b = Broker(str(tmp_path))
    yield b
    b.stop()


def test_the_broker_listens_on_loopback_only(broker):
    assert listening_addresses(broker.ws_port) == ["127.0.0.1"]
    assert listening_addresses(broker.tcp_port) == ["127.0.0.1"]


def test_publish_and_receive_a_chunked_message_through_the_broker(broker):
    # mosquitto 2.0's WebSocket listener sends about 70 KB/s to a client: 300 KB (4 chunks) is
    # enough here; the Lambda tests relay 1 MB both ways.
    secret, _ = new_secret()
    receiver = lambda_relay.MqttClient.connect(broker.url, "borescope-p-cli-1")
    sender = lambda_relay.MqttClient.connect(broker.url, "borescope-p-w-1")
    try:
        receiver.subscribe(TOPIC)
        body = os.urandom(150000).hex()
        sealed = lambda_relay.Sealer(secret).seal(TOPIC, {"t": "result", "id": "big", "body": body})
        assert len(lambda_relay.chunk(sealed)) == 4
        for part in lambda_relay.chunk(sealed):
            sender.publish(TOPIC, part)
        sender.publish("borescope/other", b"not for us")
        assembler, opener = lambda_relay.Reassembler(), lambda_relay.Sealer(secret)
        whole = None
        while whole is None:
            got = receiver.receive(20)
            assert got is not None, "the broker did not deliver every chunk"
            assert got[0] == TOPIC
            whole = assembler.add(got[1])
        assert opener.unseal(TOPIC, whole)["body"] == body
        assert receiver.receive(0.2) is None
    finally:
        sender.disconnect()
        receiver.disconnect()


def test_receive_times_out_and_keeps_the_connection_alive_with_pings(broker):
    client = lambda_relay.MqttClient.connect(broker.url, "borescope-p-idle", keepalive=2)
    other = lambda_relay.MqttClient.connect(broker.url, "borescope-p-other")
    try:
        client.subscribe(TOPIC)
        # Four keep-alive periods of silence from the peer: the client pings, the broker keeps it.
        assert client.receive(4.0) is None
        other.publish(TOPIC, b"still here")
        assert client.receive(10) == (TOPIC, b"still here")
    finally:
        other.disconnect()
        client.disconnect()


def test_a_broker_that_is_not_there_is_a_relay_error(tmp_path):
    from lambda_support import free_port

    with pytest.raises(lambda_relay.RelayError, match="cannot reach"):
        lambda_relay.MqttClient.connect("ws://127.0.0.1:%d/mqtt" % free_port(), "x", timeout=2)


def test_concurrent_publishers_share_one_connection(broker):
    receiver = lambda_relay.MqttClient.connect(broker.url, "borescope-p-r")
    sender = lambda_relay.MqttClient.connect(broker.url, "borescope-p-s")
    try:
        receiver.subscribe(TOPIC)
        threads = [threading.Thread(target=lambda i=i: [sender.publish(TOPIC, b"%d-%d" % (i, j)) for j in range(50)]) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        got = set()
        while len(got) < 200:
            message = receiver.receive(20)
            assert message is not None
            got.add(message[1])
        assert got == {b"%d-%d" % (i, j) for i in range(4) for j in range(50)}
    finally:
        sender.disconnect()
        receiver.disconnect()
