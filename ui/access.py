"""The access token that guards the page and the API off loopback."""

import hmac
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "imageconv_token"


class TokenGate:
    """Let a request through only when it carries the token.

    The token may come as `Authorization: Bearer <token>`, as a cookie, or as
    `?token=<token>` in a link, which then also sets the cookie so that the
    page's own requests and its websocket carry it.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        given = _offered_tokens(scope)
        if not any(hmac.compare_digest(self.token, token) for token in given):
            await _refuse(scope, send)
            return
        if _query_token(scope):
            send = self._with_cookie(send)
        await self.app(scope, receive, send)

    def _with_cookie(self, send: Send) -> Send:
        cookie = f"{COOKIE}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    *message.get("headers", []),
                    (b"set-cookie", cookie.encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        return send_with_cookie


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", [])}


def _query_token(scope: Scope) -> bytes | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0].encode() if values else None


def _offered_tokens(scope: Scope) -> list[bytes]:
    headers = _headers(scope)
    offered = []
    scheme, _, credentials = headers.get(b"authorization", b"").partition(b" ")
    if scheme.lower() == b"bearer":
        offered.append(credentials.strip())
    cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
    if COOKIE in cookies:
        offered.append(cookies[COOKIE].value.encode())
    if (from_query := _query_token(scope)) is not None:
        offered.append(from_query)
    return offered


async def _refuse(scope: Scope, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps(
        {
            "detail": "access token required: open the link with ?token=… or send "
            "the header 'Authorization: Bearer <token>'"
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b"Bearer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
