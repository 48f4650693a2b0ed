"""The servers a live-snapshot agent reports to: one borescope server, or several replicas of
it on one database (a list, or a comma-separated string), which the transport tries in turn
when one fails (snapshot_transport)."""

from urllib.parse import urlsplit


def server_list(server):
    """The server URLs in `server` (a URL, a comma-separated string of them, or a list); raises
    ValueError when one is not an http:// or https:// URL."""
    if isinstance(server, str):
        urls = [part.strip() for part in server.split(",") if part.strip()]
    elif isinstance(server, (list, tuple)) and all(isinstance(part, str) for part in server):
        urls = [part.strip() for part in server if part.strip()]
    else:
        urls = []
    if not urls:
        raise ValueError(
            "server must be the borescope server's URL, like http://127.0.0.1:7300, or several (a list or comma-separated) (got %r)"
            % (server,)
        )
    for text in urls:
        url = urlsplit(text)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("server must be an http:// or https:// URL (got %r)" % (text,))
    return urls
