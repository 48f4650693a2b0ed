"""A minimal ASGI app (no framework) for borescope's Kubernetes tests, served by uvicorn:

    python3 -m uvicorn asgi:app --reload --host 0.0.0.0 --port 8081 --app-dir /app

GET /        answers "hello N" (N counts the requests this worker answered)
GET /health  answers "ok"
"""

_count = 0


def handle(path):
    global _count
    if path == "/health":
        return 200, "ok"
    _count += 1
    number = _count
    greeting = "hello"
    reply = f"{greeting} {number}"  # borescope-test: handler line
    return 200, reply


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    status, text = handle(scope["path"])
    body = (text + "\n").encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
