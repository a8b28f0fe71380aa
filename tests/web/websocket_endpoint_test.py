#!/usr/bin/env python3
"""An independent, strict test of chat-server's web listener and its WebSocket endpoint.

Starts a real chat-server (argv: --server-binary PATH) and checks, case by case, what the web
listener promises: the browser client's files over HTTP/1.1, the RFC 6455 opening handshake at
/ws (section 4.2), and the framing rules after it (section 5), with chat.v1 carried in protobuf's
proto3 JSON mapping (subprotocol chat.v1.json) or serialized (chat.v1).

Every bad case runs on a connection of its own, built byte by byte on a raw socket. Meanwhile a
healthy group keeps chatting in room "lobby": alice and bob through the `websockets` library
(an independent, conforming client) speaking chat.v1.json, and carol on a raw socket speaking
binary chat.v1 (a few protobuf fields encoded by hand). After every case alice sends a numbered
message, and bob and carol must each receive it with the next sequence number: a bad client
never disturbs the others.

Every wait has a deadline; nothing is checked by sleeping. Each case prints its name and result;
the exit status is non-zero when any case fails. The server is always killed at the end.

Needs python3 and websockets 10.x (Debian 12: python3-websockets, installed for /usr/bin/python3;
when the python3 that runs this lacks it, Debian's dist-packages directory is tried).
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import socket
import struct
import sys
import time
import traceback

try:
    import websockets
except ImportError:  # a python3 other than Debian's (pyenv, say): try Debian's packages
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import websockets
    except ImportError:
        sys.exit("websocket_endpoint_test: needs the websockets package (apt install python3-websockets)")
import websockets.exceptions  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from chat_server_process import ChatServerProcess  # noqa: E402

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE_BYTES = 65536          # --max-frame-bytes given to the server
HANDSHAKE_TIMEOUT_MS = 1000        # --handshake-timeout-ms: no Hello within this closes
IDLE_TIMEOUT_MS = 2000             # --idle-timeout-ms: ping after this, disconnect after twice it
WAIT = 10.0                        # the deadline of an ordinary wait (a loaded 2-core machine)
SLOW_WAIT = 20.0                   # the deadline of a wait for a server timeout to fire

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class Fail(Exception):
    """A check failed."""


class Eof(Fail):
    """The server closed the connection where the test wanted more bytes."""


def check(condition, message):
    if not condition:
        raise Fail(message)


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def remaining(self, what):
        left = self.end - time.monotonic()
        if left <= 0:
            raise Fail(f"timed out waiting for {what}")
        return left


# ------------------------------------------------------------------------------------------------
# RFC 6455 frames, built and parsed by hand.

def frame_header(opcode, length, fin=True, rsv=0, masked=True, length_form=None, mask_key=b"\x37\xfa\x21\x3d"):
    """The header of one frame. length_form forces the 7-, 16- or 64-bit length encoding."""
    b0 = (0x80 if fin else 0) | ((rsv & 0x7) << 4) | (opcode & 0x0F)
    mask_bit = 0x80 if masked else 0
    if length_form is None:
        length_form = 7 if length < 126 else (16 if length <= 0xFFFF else 64)
    if length_form == 7:
        head = bytes([b0, mask_bit | length])
    elif length_form == 16:
        head = bytes([b0, mask_bit | 126]) + struct.pack("!H", length)
    else:
        head = bytes([b0, mask_bit | 127]) + struct.pack("!Q", length)
    return head + (mask_key if masked else b"")


def mask_bytes(payload, key):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload=b"", fin=True, rsv=0, masked=True, mask_key=None):
    """One whole client frame (masked unless told otherwise)."""
    if isinstance(payload, str):
        payload = payload.encode()
    key = mask_key if mask_key is not None else os.urandom(4)
    head = frame_header(opcode, len(payload), fin=fin, rsv=rsv, masked=masked, mask_key=key)
    return head + (mask_bytes(payload, key) if masked else payload)


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + (reason.encode() if isinstance(reason, str) else reason)


class ServerWsFrame:
    def __init__(self, fin, rsv, opcode, payload):
        self.fin, self.rsv, self.opcode, self.payload = fin, rsv, opcode, payload

    def close_code(self):
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    def close_reason(self):
        return self.payload[2:].decode("utf-8")  # raises on invalid UTF-8: checked by the caller

    def __repr__(self):
        return f"<frame op={self.opcode:#x} fin={self.fin} rsv={self.rsv} {self.payload[:80]!r}>"


def parse_server_frame(buf):
    """(frame, bytes used) for the first whole frame in buf, or None. Checks what RFC 6455 asks
    of a server's frames: unmasked, no reserved bits (no extension is negotiated), control frames
    final and at most 125 bytes, lengths in their shortest form."""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    fin, rsv, opcode = bool(b0 & 0x80), (b0 >> 4) & 0x7, b0 & 0x0F
    check(not (b1 & 0x80), f"the server sent a masked frame (RFC 6455 5.1 forbids it): {bytes(buf[:16])!r}")
    check(rsv == 0, f"the server sent a frame with reserved bits {rsv:#x}")
    check(opcode in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG),
          f"the server sent a frame with unknown opcode {opcode:#x}")
    length, at = b1 & 0x7F, 2
    if length == 126:
        if len(buf) < 4:
            return None
        length, at = struct.unpack("!H", bytes(buf[2:4]))[0], 4
        check(length >= 126, "the server sent a 16-bit length under 126")
    elif length == 127:
        if len(buf) < 10:
            return None
        length, at = struct.unpack("!Q", bytes(buf[2:10]))[0], 10
        check(length > 0xFFFF and length >> 63 == 0, f"the server sent a bad 64-bit length {length}")
    if opcode & 0x8:
        check(fin and length <= 125, "the server sent a fragmented or over-long control frame")
    if len(buf) < at + length:
        return None
    return ServerWsFrame(fin, rsv, opcode, bytes(buf[at:at + length])), at + length


# ------------------------------------------------------------------------------------------------
# The few protobuf fields of chat.v1 the binary client needs (proto/chat.proto).

def pb_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_int(number, value):
    return pb_varint(number << 3) + pb_varint(value)


def pb_bytes(number, value):
    if isinstance(value, str):
        value = value.encode()
    return pb_varint((number << 3) | 2) + pb_varint(len(value)) + value


def pb_parse(data):
    """{field number: [values]} (varints as ints, length-delimited as bytes)."""
    fields, at = {}, 0

    def varint():
        nonlocal at
        value, shift = 0, 0
        while True:
            check(at < len(data), "truncated protobuf varint")
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while at < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire == 2:
            n = varint()
            check(at + n <= len(data), "truncated protobuf field")
            value, at = data[at:at + n], at + n
        elif wire == 1:
            value, at = data[at:at + 8], at + 8
        elif wire == 5:
            value, at = data[at:at + 4], at + 4
        else:
            raise Fail(f"protobuf wire type {wire} in a ServerFrame")
        fields.setdefault(number, []).append(value)
    return fields


def pb_first(fields, number, default=None):
    values = fields.get(number)
    return values[0] if values else default


# ServerFrame payload fields by number.
SERVER_FRAME_CASES = {2: "welcome", 3: "ok", 4: "error", 5: "joinReply", 6: "ack", 10: "pong",
                      20: "roomMessage", 25: "memberJoined", 26: "memberLeft", 29: "typing",
                      30: "gap", 31: "disconnect", 32: "ping"}


def client_hello_pb(request_id, nick):
    return pb_int(1, request_id) + pb_bytes(2, pb_int(1, 1) + pb_bytes(2, nick))


def client_join_pb(request_id, room):
    return pb_int(1, request_id) + pb_bytes(3, pb_bytes(1, room))


def client_send_pb(request_id, room, text, client_msg_id):
    return pb_int(1, request_id) + pb_bytes(5, pb_bytes(1, room) + pb_bytes(2, text) + pb_int(3, client_msg_id))


def client_ping_pb(request_id, nonce):
    return pb_int(1, request_id) + pb_bytes(17, pb_int(1, nonce))


def server_frame_case(fields):
    cases = [name for number, name in SERVER_FRAME_CASES.items() if number in fields]
    return cases[0] if cases else None


# ------------------------------------------------------------------------------------------------
# The server process.

class Server(ChatServerProcess):
    def __init__(self, binary):
        super().__init__(binary, "ws-endpoint-test-", error=Fail)
        self.chat_port = None
        self.web_port = None

    def start(self):
        super().start(["--listen", "127.0.0.1:0", "--web", "127.0.0.1:0", "--irc-listen", "", "--http", "",
                       "--messages-per-second", "0", "--bytes-per-second", "0",
                       "--max-frame-bytes", str(MAX_MESSAGE_BYTES),
                       "--handshake-timeout-ms", str(HANDSHAKE_TIMEOUT_MS),
                       "--idle-timeout-ms", str(IDLE_TIMEOUT_MS)],
                      {"chat": self.LISTEN, "web": r"web client on http://127\.0\.0\.1:(\d+)/"},
                      required_flags=("--web", "--handshake-timeout-ms", "--idle-timeout-ms", "--max-frame-bytes"))
        self.chat_port, self.web_port = self.ports["chat"], self.ports["web"]
        print(f"server up: chat port {self.chat_port}, web port {self.web_port}", flush=True)


# ------------------------------------------------------------------------------------------------
# A raw client connection (the socket module), for HTTP and for frames written byte by byte.

class Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name):
        values = [v for k, v in self.headers if k == name.lower()]
        return values[0] if values else None

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def __repr__(self):
        return f"<HTTP {self.status} {self.reason} {self.headers} body={self.body[:100]!r}>"


class RawConn:
    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline, what):
        """Reads once; False at the end of the stream."""
        if self.eof:
            return False
        self.sock.settimeout(deadline.remaining(what))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise Fail(f"timed out waiting for {what}") from None
        except ConnectionResetError:
            self.reset, chunk = True, b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_response(self, seconds=WAIT, head_request=False):
        deadline = Deadline(seconds)
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline, "an HTTP response head"):
                raise Eof(f"connection closed before a whole response head (got {bytes(self.buf[:200])!r})")
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + 4]
        lines = head.split("\r\n")
        m = re.fullmatch(r"HTTP/1\.1 (\d{3}) ?(.*)", lines[0])
        check(m is not None, f"malformed status line {lines[0]!r}")
        status = int(m.group(1))
        headers = []
        for line in lines[1:]:
            check(":" in line and not line[:1].isspace(), f"malformed header line {line!r}")
            name, value = line.split(":", 1)
            headers.append((name.strip().lower(), value.strip()))
        response = Response(status, m.group(2), headers, b"")
        if status == 101 or status == 304 or status == 204 or status < 200 or head_request:
            return response
        length = response.header("content-length")
        if length is None:
            while self._fill(deadline, "a response body read to the end"):
                pass
            response.body, self.buf = bytes(self.buf), bytearray()
            return response
        check(length.isdigit(), f"bad Content-Length {length!r}")
        n = int(length)
        while len(self.buf) < n:
            if not self._fill(deadline, "a response body"):
                raise Eof(f"connection closed inside a body of {n} bytes")
        response.body = bytes(self.buf[:n])
        del self.buf[:n]
        return response

    def read_frame(self, seconds=WAIT, what="a frame"):
        deadline = Deadline(seconds)
        while True:
            parsed = parse_server_frame(self.buf)
            if parsed is not None:
                result, used = parsed
                del self.buf[:used]
                return result
            if not self._fill(deadline, what):
                raise Eof(f"connection closed while waiting for {what}"
                          + (f" (partial frame {bytes(self.buf[:20])!r})" if self.buf else ""))

    def expect_eof(self, seconds=WAIT):
        """The server closes the TCP connection and sends nothing more."""
        deadline = Deadline(seconds)
        while self._fill(deadline, "the server to close the TCP connection"):
            pass
        check(not self.buf, f"bytes after the close frame: {bytes(self.buf[:60])!r}")

    def expect_silence(self, seconds):
        """Nothing arrives for this long (used only to show a connection is still open)."""
        self.sock.settimeout(seconds)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return
        raise Fail(f"expected silence, got {chunk[:80]!r}" if chunk else "expected an open connection, it closed")

    # chat.v1.json over the raw connection
    def send_json(self, obj):
        self.send(frame(OP_TEXT, json.dumps(obj, separators=(",", ":"))))

    def read_message(self, seconds=WAIT, what="a data message"):
        """The next whole data message (server frames are never fragmented, but follow RFC
        6455 anyway), answering pings; a close raises Fail with its code."""
        deadline = Deadline(seconds)
        opcode, parts = None, []
        while True:
            f = self.read_frame(deadline.remaining(what), what)
            if f.opcode == OP_PING:
                self.send(frame(OP_PONG, f.payload))
                continue
            if f.opcode == OP_PONG:
                continue
            if f.opcode == OP_CLOSE:
                raise Fail(f"server closed with {f.close_code()} {f.payload[2:]!r} while waiting for {what}")
            if opcode is None:
                check(f.opcode in (OP_TEXT, OP_BINARY), f"server sent a continuation first: {f}")
                opcode = f.opcode
            else:
                check(f.opcode == OP_CONT, f"server started a new message inside a fragmented one: {f}")
            parts.append(f.payload)
            if f.fin:
                return opcode, b"".join(parts)

    def read_json(self, seconds=WAIT, what="a JSON ServerFrame"):
        opcode, payload = self.read_message(seconds, what)
        check(opcode == OP_TEXT, f"chat.v1.json: expected a text message, got opcode {opcode} {payload[:80]!r}")
        try:
            obj = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise Fail(f"server sent a text message that is not JSON ({e}): {payload[:120]!r}") from None
        check(isinstance(obj, dict), f"a ServerFrame in JSON is an object, got {payload[:120]!r}")
        return obj

    def read_json_reply(self, request_id, seconds=WAIT):
        """The reply to request_id, skipping events (frames without a requestId)."""
        deadline = Deadline(seconds)
        while True:
            obj = self.read_json(deadline.remaining(f"the reply to request {request_id}"))
            if obj.get("requestId") == str(request_id):
                return obj
            check("requestId" not in obj, f"a reply to another request: {obj}")
            check("disconnect" not in obj, f"disconnected while waiting for request {request_id}: {obj}")

    def hello(self, nick, request_id=1):
        self.send_json({"requestId": str(request_id), "hello": {"protocolVersion": 1, "nick": nick}})
        reply = self.read_json_reply(request_id)
        check("welcome" in reply, f"Hello as {nick} not answered by welcome: {reply}")
        return reply


def expect_close(conn, code, seconds=WAIT, what=None):
    """Reads up to the server's close frame (data messages before it, a Disconnect say, are
    allowed), checks its status code, then that the server closes the TCP connection.
    Returns (code, reason, data messages seen before the close)."""
    deadline = Deadline(seconds)
    what = what or f"a close frame with {code}"
    before = []
    while True:
        f = conn.read_frame(deadline.remaining(what), what)
        if f.opcode == OP_CLOSE:
            break
        before.append(f)
    got = f.close_code()
    check(len(f.payload) != 1, "the server's close frame has a 1-byte body")
    try:
        reason = f.close_reason()
    except UnicodeDecodeError:
        raise Fail(f"the server's close reason is not UTF-8: {f.payload!r}") from None
    if code is not None:
        check(got == code, f"expected close {code}, got {got} ({reason!r})"
              + (f" after {before}" if before else ""))
    conn.expect_eof(deadline.remaining("the server to close the TCP connection after its close frame"))
    return got, reason, before


def accept_key(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def upgrade_request(port, path="/ws", key="new", version="13", upgrade="websocket", connection="Upgrade",
                    protocol="chat.v1.json", origin=None, host="own", extra=(), method="GET"):
    """The bytes of an upgrade request; a header given as None is left out."""
    if key == "new":
        key = new_key()
    if host == "own":
        host = f"127.0.0.1:{port}"
    lines = [f"{method} {path} HTTP/1.1"]
    for name, value in (("Host", host), ("Upgrade", upgrade), ("Connection", connection),
                        ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version),
                        ("Sec-WebSocket-Protocol", protocol), ("Origin", origin)):
        if value is not None:
            lines.append(f"{name}: {value}")
    lines.extend(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def open_ws(port, protocol="chat.v1.json", early=b"", **kwargs):
    """A raw connection after a checked 101 (correct accept key, the subprotocol chosen)."""
    key = new_key()
    conn = RawConn(port)
    try:
        conn.send(upgrade_request(port, key=key, protocol=protocol, **kwargs) + early)
        r = conn.read_response()
        check(r.status == 101, f"expected 101, got {r.status}: {r}")
        check(r.header("sec-websocket-accept") == accept_key(key), f"wrong Sec-WebSocket-Accept: {r}")
        chosen = protocol.split(",")[0].strip() if protocol else None
        check(r.header("sec-websocket-protocol") == chosen, f"expected subprotocol {chosen}: {r}")
        return conn
    except BaseException:
        conn.close()
        raise


# ------------------------------------------------------------------------------------------------
# HTTP cases

def media_type(content_type):
    parts = [p.strip().lower() for p in (content_type or "").split(";")]
    return parts[0], set(parts[1:])


def http_get(port, path, extra=()):
    with RawConn(port) as conn:
        conn.send((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" + "".join(x + "\r\n" for x in extra)
                   + "\r\n").encode())
        return conn.read_response()


def case_http_index(port):
    r = http_get(port, "/")
    check(r.status == 200, f"GET / -> {r.status}")
    mt, params = media_type(r.header("content-type"))
    check(mt == "text/html" and "charset=utf-8" in params, f"GET / Content-Type {r.header('content-type')!r}")
    csp = r.header("content-security-policy")
    check(csp is not None, "GET / has no Content-Security-Policy")
    directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";") if d.strip()}
    check("script-src" in directives and "'self'" in directives["script-src"], f"CSP without script-src 'self': {csp!r}")
    check("unsafe-inline" not in csp, f"CSP allows unsafe-inline: {csp!r}")
    check("unsafe-eval" not in csp, f"CSP allows unsafe-eval: {csp!r}")
    check((r.header("x-content-type-options") or "").lower() == "nosniff", "GET / without X-Content-Type-Options: nosniff")
    check(r.header("etag"), "GET / has no ETag")
    check(len(r.body) > 0 and b"<html" in r.body.lower(), "GET / body is not an HTML page")
    return f"{len(r.body)} bytes, ETag {r.header('etag')}"


def case_index_obeys_its_csp(port):
    """The page runs under its own policy: no inline script, handler or style it would block."""
    html = http_get(port, "/").body.decode("utf-8")
    check(not re.search(r"<script(?![^>]*\bsrc\s*=)[^>]*>", html, re.I), "index.html has an inline <script>")
    check(not re.search(r"\son[a-z]+\s*=", html, re.I), "index.html has an inline event handler attribute")
    check(not re.search(r"<style[\s>]", html, re.I), "index.html has a <style> element (style-src 'self')")
    check(not re.search(r"\sstyle\s*=", html, re.I), "index.html has a style= attribute (style-src 'self')")
    check(re.search(r"<script[^>]*src=\"?/?app\.js", html), "index.html does not load app.js")
    check(re.search(r"<link[^>]*href=\"?/?app\.css", html), "index.html does not load app.css")


def case_http_etag_304(port):
    etag = http_get(port, "/").header("etag")
    with RawConn(port) as conn:
        # The 304 and a second request on the same connection: the second response must start
        # right after the 304's head, so the 304 carried no body.
        conn.send((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nIf-None-Match: {etag}\r\n\r\n"
                   f"GET /app.css HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").encode())
        r = conn.read_response()
        check(r.status == 304, f"If-None-Match with the ETag -> {r.status}, expected 304")
        second = conn.read_response()
        check(second.status == 200 and media_type(second.header("content-type"))[0] == "text/css",
              f"the request after a 304 got {second} (a body after the 304?)")
    r = http_get(port, "/", extra=['If-None-Match: "not-the-etag"'])
    check(r.status == 200 and r.body, f"If-None-Match with another ETag -> {r.status}, expected 200 with the page")


def case_http_app_js(port):
    r = http_get(port, "/app.js")
    check(r.status == 200, f"GET /app.js -> {r.status}")
    check(media_type(r.header("content-type"))[0] == "text/javascript", f"/app.js Content-Type {r.header('content-type')!r}")
    check(r.body, "/app.js is empty")
    check((r.header("x-content-type-options") or "").lower() == "nosniff", "/app.js without nosniff")
    # The modules app.js imports are served too (with nosniff a wrong type would stop them).
    imports = re.findall(rb"""from\s+['"](\./[^'"]+\.js)['"]""", r.body)
    for path in imports:
        sub = http_get(port, "/" + path.decode()[2:])
        check(sub.status == 200 and media_type(sub.header("content-type"))[0] == "text/javascript",
              f"module {path.decode()} imported by app.js -> {sub.status} {sub.header('content-type')!r}")
    return f"{len(imports)} imported module(s) served"


def case_http_app_css(port):
    r = http_get(port, "/app.css")
    check(r.status == 200, f"GET /app.css -> {r.status}")
    check(media_type(r.header("content-type"))[0] == "text/css", f"/app.css Content-Type {r.header('content-type')!r}")
    check(r.body, "/app.css is empty")


def case_http_keep_alive(port):
    with RawConn(port) as conn:
        conn.send(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        first = conn.read_response()
        check(first.status == 200, f"first request -> {first.status}")
        conn.send(f"GET /app.js HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        second = conn.read_response()
        check(second.status == 200 and media_type(second.header("content-type"))[0] == "text/javascript",
              f"second request on the kept-alive connection -> {second}")
        # Pipelined: two requests in one write, answered in order.
        conn.send((f"GET /app.css HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
                   f"GET /nope HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").encode())
        a, b = conn.read_response(), conn.read_response()
        check(a.status == 200 and b.status == 404, f"pipelined requests -> {a.status}, {b.status}")


def case_http_404(port):
    for path in ("/no-such-file", "/ws/extra", "/../etc/passwd", "/index.html/"):
        r = http_get(port, path)
        check(r.status == 404 or (path == "/../etc/passwd" and r.status == 400), f"GET {path} -> {r.status}, expected 404")


def case_http_405(port):
    with RawConn(port) as conn:
        conn.send(f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n".encode())
        r = conn.read_response()
        check(r.status == 405, f"POST / -> {r.status}, expected 405")
    return f"Allow: {r.header('allow')}"


def case_http_400_malformed(port):
    for raw in (b"GET /\r\n\r\n", b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/x.y\r\nHost: x\r\n\r\n",
                b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", b"GET noslash HTTP/1.1\r\nHost: x\r\n\r\n"):
        with RawConn(port) as conn:
            conn.send(raw)
            r = conn.read_response()
            check(r.status == 400, f"{raw!r} -> {r.status}, expected 400")


def case_http_431(port):
    with RawConn(port) as conn:
        conn.send(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Big: {'a' * 9000}\r\n\r\n".encode())
        r = conn.read_response()
        check(r.status == 431, f"a 9 KB head -> {r.status}, expected 431")
    with RawConn(port) as conn:  # many small headers, over 8 KiB together
        headers = "".join(f"X-H{i}: {'b' * 90}\r\n" for i in range(100))
        conn.send(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n".encode())
        r = conn.read_response()
        check(r.status == 431, f"100 headers of 100 bytes -> {r.status}, expected 431")


def case_http_414(port):
    with RawConn(port) as conn:
        conn.send(f"GET /{'x' * 3000} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        r = conn.read_response()
        check(r.status == 414, f"a 3000-byte target -> {r.status}, expected 414")


# ------------------------------------------------------------------------------------------------
# Opening handshake cases

def handshake_status(port, **kwargs):
    with RawConn(port) as conn:
        conn.send(upgrade_request(port, **kwargs))
        return conn.read_response()


def case_ws_101_json(port):
    key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example: accept is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
    with RawConn(port) as conn:
        conn.send(upgrade_request(port, key=key, extra=["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"]))
        r = conn.read_response()
        check(r.status == 101, f"expected 101, got {r}")
        check(r.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", f"wrong accept: {r}")
        check((r.header("upgrade") or "").lower() == "websocket", f"101 without Upgrade: websocket: {r}")
        check("upgrade" in [t.strip().lower() for t in (r.header("connection") or "").split(",")], f"101 without Connection: Upgrade: {r}")
        check(r.header("sec-websocket-protocol") == "chat.v1.json", f"subprotocol: {r}")
        check(r.header("sec-websocket-extensions") is None, f"an extension was negotiated (none is supported): {r}")
        check(not conn.buf, f"bytes after the 101 head before any frame: {bytes(conn.buf)!r}")


def case_ws_101_binary(port):
    with open_ws(port, protocol="chat.v1"):
        pass


def case_ws_101_case_insensitive(port):
    with open_ws(port, upgrade="WebSocket", connection="keep-alive, UPGRADE"):
        pass
    with open_ws(port, upgrade="websocket", connection="upgrade"):
        pass


def case_ws_subprotocol_choice(port):
    with RawConn(port) as conn:
        conn.send(upgrade_request(port, protocol="chat.v2, chat.v1.json"))
        r = conn.read_response()
        check(r.status == 101 and r.header("sec-websocket-protocol") == "chat.v1.json", f"offer 'chat.v2, chat.v1.json' -> {r}")
    with RawConn(port) as conn:
        conn.send(upgrade_request(port, protocol="x.unknown", extra=["Sec-WebSocket-Protocol: chat.v1"]))
        r = conn.read_response()
        check(r.status == 101 and r.header("sec-websocket-protocol") == "chat.v1", f"offer over two headers -> {r}")
    with RawConn(port) as conn:
        conn.send(upgrade_request(port, protocol="chat.v1, chat.v1.json"))
        r = conn.read_response()
        check(r.status == 101 and r.header("sec-websocket-protocol") in ("chat.v1", "chat.v1.json"), f"offer both -> {r}")
        return f"offered 'chat.v1, chat.v1.json', chose {r.header('sec-websocket-protocol')}"


def case_ws_400_bad_key(port):
    bad_keys = {
        "missing": None,
        "empty": "",
        "not base64": "!!!!!!!!!!!!!!!!!!!!!!==",
        "15 bytes": base64.b64encode(b"a" * 15).decode(),
        "17 bytes": base64.b64encode(b"a" * 17).decode(),
        "32 bytes": base64.b64encode(b"a" * 32).decode(),
    }
    for label, key in bad_keys.items():
        r = handshake_status(port, key=key)
        check(r.status == 400, f"Sec-WebSocket-Key {label} ({key!r}) -> {r.status}, expected 400")


def case_ws_400_missing_upgrade(port):
    for upgrade in (None, "h2c", "websocket2"):
        r = handshake_status(port, upgrade=upgrade)
        check(r.status == 400, f"Upgrade: {upgrade!r} -> {r.status}, expected 400")


def case_ws_400_missing_connection(port):
    for connection in (None, "keep-alive", "upgraded"):
        r = handshake_status(port, connection=connection)
        check(r.status == 400, f"Connection: {connection!r} -> {r.status}, expected 400")


def case_ws_426_version(port):
    for version in ("8", "12", "14", "13, 8"):
        r = handshake_status(port, version=version)
        check(r.status == 426, f"Sec-WebSocket-Version: {version} -> {r.status}, expected 426")
        versions = [v.strip() for value in r.all("sec-websocket-version") for v in value.split(",")]
        check("13" in versions, f"426 without Sec-WebSocket-Version: 13: {r}")
    r = handshake_status(port, version=None)
    check(r.status in (400, 426), f"no Sec-WebSocket-Version -> {r.status}, expected 400 or 426")
    return f"missing version -> {r.status}"


def case_ws_400_no_subprotocol(port):
    for protocol in (None, "chat.v2", "CHAT.V1", "chat.v1.xml", ""):
        r = handshake_status(port, protocol=protocol)
        check(r.status == 400, f"Sec-WebSocket-Protocol: {protocol!r} -> {r.status}, expected 400")


def case_ws_403_origin(port):
    for origin in ("http://evil.example", f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}",
                   f"https://127.0.0.1:{port}", "null", f"http://localhost:{port}", f"http://127.0.0.1:{port}.evil.example",
                   "http://127.0.0.1"):
        r = handshake_status(port, origin=origin)
        check(r.status == 403, f"Origin: {origin} -> {r.status}, expected 403")


def case_ws_own_origin_and_none(port):
    with open_ws(port, origin=f"http://127.0.0.1:{port}"):
        pass
    with open_ws(port, origin=None):
        pass


def case_ws_origin_of_a_dns_name(port):
    """A page under a DNS name whose Host matches its Origin is refused unless web_origins lists
    it: the name may be an attacker's that resolves to this listener (DNS rebinding)."""
    r = handshake_status(port, host=f"rebind.example:{port}", origin=f"http://rebind.example:{port}")
    check(r.status == 403, f"Host rebind.example:{port} + Origin http://rebind.example:{port} -> {r.status}, expected 403")
    with open_ws(port, origin=f"http://localhost:{port}", host=f"localhost:{port}"):
        pass
    return "rebind.example -> 403, localhost -> 101"


def case_ws_upgrade_other_path(port):
    r = handshake_status(port, path="/")
    check(r.status != 101, f"an upgrade at / was accepted: {r}")
    return f"upgrade at / -> {r.status}"


def case_ws_early_frames(port):
    """Frames sent in the same segment as the upgrade request are not lost."""
    with open_ws(port, early=frame(OP_PING, b"early")) as conn:
        f = conn.read_frame(what="the pong to a ping sent with the upgrade request")
        check(f.opcode == OP_PONG and f.payload == b"early", f"expected pong 'early', got {f}")


# ------------------------------------------------------------------------------------------------
# Framing cases (each on its own connection, JSON subprotocol unless told otherwise)

NICKS = iter(f"raw{i}" for i in range(1, 100000))


def disconnects_before_close(before, reasons, what):
    """What came before a close frame: at most one Disconnect ServerFrame (JSON) with one of
    these reasons, nothing else. Returns its reason, or None."""
    check(len(before) <= 1, f"{what}: {len(before)} messages before the close: {before}")
    if not before:
        return None
    f = before[0]
    check(f.opcode == OP_TEXT, f"{what}: a non-text message before the close: {f}")
    obj = json.loads(f.payload)
    check(set(obj) == {"disconnect"}, f"{what}: before the close, expected only a Disconnect: {obj}")
    reason = obj["disconnect"].get("reason")
    check(reason in reasons, f"{what}: Disconnect reason {reason}, expected one of {reasons}")
    return reason


def bad_frame_case(data, code, after_hello=False):
    """The connection is failed with this close code, preceded by nothing but (optionally)
    Disconnect{PROTOCOL_ERROR}, and the server closes the TCP connection."""
    def run(port):
        with open_ws(port) as conn:
            if after_hello:
                conn.hello(next(NICKS))
            conn.send(data)
            got, reason, before = expect_close(conn, code)
            disconnect = disconnects_before_close(before, ("PROTOCOL_ERROR",), "a bad frame")
            return f"close {got} {reason!r}" + (f" after Disconnect{{{disconnect}}}" if disconnect else "")
    return run


def case_fragmented_valid_with_ping(port):
    """A text message in three fragments, split inside a UTF-8 sequence, with a ping between
    fragments (RFC 6455 5.4: control frames may come in the middle): pong, then the Hello
    takes effect."""
    text = json.dumps({"requestId": "1", "hello": {"protocolVersion": 1, "nick": next(NICKS),
                                                   "clientName": "zoé-client"}}, ensure_ascii=False).encode()
    cut = text.index("é".encode()) + 1  # between the two bytes of é
    with open_ws(port) as conn:
        conn.send(frame(OP_TEXT, text[:10], fin=False) + frame(OP_CONT, text[10:cut], fin=False)
                  + frame(OP_PING, b"mid") + frame(OP_CONT, text[cut:], fin=True))
        f = conn.read_frame(what="the pong to the ping between fragments")
        check(f.opcode == OP_PONG and f.payload == b"mid", f"expected pong 'mid' first, got {f}")
        reply = conn.read_json_reply(1)
        check("welcome" in reply, f"the fragmented Hello was not welcomed: {reply}")


def case_ping_pong(port):
    payloads = [b"", b"\x00\xffping", os.urandom(125), "é".encode() * 10]
    with open_ws(port) as conn:
        conn.send(b"".join(frame(OP_PING, p) for p in payloads))
        for p in payloads:
            f = conn.read_frame(what="a pong")
            check(f.opcode == OP_PONG, f"expected a pong, got {f}")
            check(f.payload == p, f"pong payload {f.payload!r} != ping payload {p!r}")
            check(f.fin, "pong not final")
        conn.hello(next(NICKS))  # still usable
        conn.send(frame(OP_PONG, b"unsolicited"))  # an unsolicited pong is ignored (RFC 6455 5.5.3)
        conn.send(frame(OP_PING, b"after"))
        f = conn.read_frame(what="a pong after an unsolicited pong")
        check(f.opcode == OP_PONG and f.payload == b"after", f"expected pong 'after', got {f}")


def client_close_case(payload, expect_codes, after_hello):
    def run(port):
        with open_ws(port) as conn:
            if after_hello:
                conn.hello(next(NICKS))
            conn.send(frame(OP_CLOSE, payload))
            got, reason, before = expect_close(conn, None, what="the server's answering close frame")
            check(got in expect_codes, f"answering close has code {got}, expected one of {expect_codes}")
            return f"answered close {got} {reason!r}"
    return run


def truncated_case(after_hello):
    def run(port):
        with open_ws(port) as conn:
            if after_hello:
                conn.hello(next(NICKS))
            conn.send(frame(OP_TEXT, b"x" * 100)[:2 + 4 + 10])  # header and 10 of 100 bytes, then silence
            started = time.monotonic()
            got, reason, before = expect_close(conn, None, seconds=SLOW_WAIT,
                                               what="the server to give up on a truncated frame")
            elapsed = time.monotonic() - started
            limit_ms = HANDSHAKE_TIMEOUT_MS if not after_hello else 2 * IDLE_TIMEOUT_MS
            check(elapsed >= limit_ms / 1000 * 0.8, f"closed after {elapsed:.2f}s, before the {limit_ms} ms timeout")
            check(got in (1000, 1001, 1008), f"a timeout closed with {got}, expected 1008 (or 1000/1001)")
            kinds = [server_json_case(f) for f in before]
            if after_hello and before and server_json_case(before[0]) == "ping":
                before = before[1:]  # the server's chat-level ping after idle_timeout_ms, unanswered
            disconnect = disconnects_before_close(
                before, ("IDLE_TIMEOUT",) if after_hello else ("HANDSHAKE_TIMEOUT",), "a timeout")
            return f"close {got} {reason!r} after {elapsed:.2f}s; before it: {kinds} ({disconnect})"
    return run


def server_json_case(f):
    if f.opcode != OP_TEXT:
        return f"opcode {f.opcode}"
    try:
        obj = json.loads(f.payload)
        return ",".join(k for k in obj if k != "requestId")
    except ValueError:
        return f"non-JSON {f.payload[:40]!r}"


def invalid_json_case(after_hello):
    """Valid UTF-8 that is not a ClientFrame in JSON: after Hello an error BAD_REQUEST answers it
    (with its requestId when it names one) and the connection goes on; before Hello the error is
    followed by a Disconnect and close 1002, as any first frame that is not Hello."""
    bad_texts = [("not json at all", None), ("[1,2,3]", None), ('{"requestId":1.5,"ping":{}}', None),
                 ('{"requestId":"7","hello":{"protocolVersion":"one"}}', "7"),
                 ('{"requestId":"8","join":{"room":5}}', "8"), ('{"requestId":9,"ping":"x"}', "9")]

    def run(port):
        outcomes = []
        for text, request_id in bad_texts:
            with open_ws(port) as conn:
                if after_hello:
                    conn.hello(next(NICKS))
                conn.send(frame(OP_TEXT, text))
                obj = conn.read_json(what=f"the answer to {text!r}")
                while "error" not in obj and ("memberJoined" in obj or "memberLeft" in obj):
                    obj = conn.read_json(what=f"the answer to {text!r}")
                check(obj.get("error", {}).get("code") == "BAD_REQUEST", f"{text!r}: {obj}, expected error BAD_REQUEST")
                check(obj.get("requestId") == request_id,
                      f"{text!r}: the error answers requestId {obj.get('requestId')}, expected {request_id}")
                if after_hello:
                    conn.send_json({"requestId": "99", "ping": {"nonce": "5"}})
                    reply = conn.read_json_reply(99)
                    check(reply.get("pong", {}).get("nonce") == "5", f"{text!r}: after the error, ping -> {reply}")
                    outcomes.append("error, connection goes on")
                else:
                    code, _, before = expect_close(conn, 1002)
                    outcomes.append(f"error, close {code}")
        return "; ".join(f"{t!r}: {o}" for (t, _), o in zip(bad_texts, outcomes))
    return run


def case_wrong_message_type(port):
    """A binary message on chat.v1.json or a text message on chat.v1 ends the connection with
    1003 (RFC 6455 7.4.1: a type of data the endpoint cannot accept)."""
    with open_ws(port) as conn:
        conn.hello(next(NICKS))
        conn.send(frame(OP_BINARY, client_ping_pb(5, 1)))
        code, reason, _ = expect_close(conn, 1003)
        check("text" in reason, f"close reason {reason!r} does not say text messages are expected")
    with open_ws(port, protocol="chat.v1") as conn:
        conn.send(frame(OP_BINARY, client_hello_pb(1, next(NICKS))))
        op, payload = conn.read_message(what="the binary Welcome")
        check(op == OP_BINARY and server_frame_case(pb_parse(payload)) == "welcome", f"binary Hello -> {op} {payload[:60]!r}")
        conn.send(frame(OP_TEXT, '{"requestId":"5","ping":{}}'))
        expect_close(conn, 1003)
    return "binary on chat.v1.json -> 1003; text on chat.v1 -> 1003"


def case_unknown_request_kind(port):
    """A request kind this server does not know (a newer protocol's) is answered
    Error{UNSUPPORTED} for its request id in both formats, as chat.proto documents, and the
    connection goes on."""
    with open_ws(port, protocol="chat.v1") as conn:
        conn.send(frame(OP_BINARY, client_hello_pb(1, next(NICKS))))
        conn.read_message(what="the binary Welcome")
        conn.send(frame(OP_BINARY, pb_int(1, 6) + pb_bytes(99, b"")))
        op, payload = conn.read_message(what="the answer to ClientFrame field 99")
        fields = pb_parse(payload)
        err = pb_parse(pb_first(fields, 4, b""))
        check(server_frame_case(fields) == "error" and pb_first(fields, 1) == 6 and pb_first(err, 1) == 12,
              f"chat.v1 field 99 -> {server_frame_case(fields)} request_id={pb_first(fields, 1)} code={pb_first(err, 1)}")
    with open_ws(port) as conn:
        conn.hello(next(NICKS))
        conn.send_json({"requestId": "6", "noSuchRequest": {}})
        obj = conn.read_json_reply(6)
        check(obj.get("error", {}).get("code") == "UNSUPPORTED", f"chat.v1.json noSuchRequest -> {obj}")
        conn.send_json({"requestId": "7", "ping": {"nonce": "1"}})
        check("pong" in conn.read_json_reply(7), "no pong after the unknown request")
    return "UNSUPPORTED in both formats"


def case_binary_unparsable(port):
    """Bytes that are no ClientFrame on chat.v1: refused as a protocol error (proto: a frame that
    does not parse is PROTOCOL_ERROR)."""
    with open_ws(port, protocol="chat.v1") as conn:
        conn.send(frame(OP_BINARY, client_hello_pb(1, next(NICKS))))
        conn.read_message(what="the binary Welcome")
        conn.send(frame(OP_BINARY, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
        got, reason, before = expect_close(conn, None)
        check(got in (1002, 1003, 1007, 1008), f"an unparsable binary message -> close {got}")
        return f"close {got} {reason!r} after {len(before)} message(s)"


# ------------------------------------------------------------------------------------------------
# The healthy group: alice and bob (websockets library, chat.v1.json), carol (raw, chat.v1).

class QueuedClient:
    """What both healthy clients share: request ids, and a queue of what their reader task
    received (a problem it met is raised by the next get)."""

    def __init__(self, nick):
        self.nick = nick
        self.queue = asyncio.Queue()
        self.next_id = 1
        self.ping_ids = set()
        self.problem = None

    def take_id(self):
        self.next_id += 1
        return self.next_id - 1

    async def get(self, seconds, what):
        if self.problem:
            raise Fail(self.problem)
        try:
            return await asyncio.wait_for(self.queue.get(), seconds)
        except asyncio.TimeoutError:
            raise Fail(f"{self.nick}: timed out waiting for {what}" + (f" ({self.problem})" if self.problem else "")) from None


class JsonClient(QueuedClient):
    """A websockets-library client with a reader task that answers the server's chat-level
    pings (the server's idle timeout) and queues everything else."""

    def __init__(self, nick, ws):
        super().__init__(nick)
        self.ws = ws
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port, nick, **kwargs):
        ws = await asyncio.wait_for(websockets.connect(
            f"ws://127.0.0.1:{port}/ws", subprotocols=["chat.v1.json"], ping_interval=None,
            open_timeout=WAIT, close_timeout=WAIT, max_size=2 ** 20, **kwargs), WAIT)
        check(ws.subprotocol == "chat.v1.json", f"{nick}: negotiated {ws.subprotocol!r}")
        check(not ws.extensions, f"{nick}: extensions negotiated: {ws.extensions}")
        return cls(nick, ws)

    async def send(self, obj):
        await asyncio.wait_for(self.ws.send(json.dumps(obj)), WAIT)

    async def _read(self):
        try:
            async for message in self.ws:
                if not isinstance(message, str):
                    self.problem = f"{self.nick} got a binary message on chat.v1.json: {message[:60]!r}"
                    continue
                obj = json.loads(message)
                if "ping" in obj:
                    rid = self.take_id()
                    self.ping_ids.add(str(rid))
                    await self.send({"requestId": str(rid), "ping": {"nonce": obj["ping"].get("nonce", "0")}})
                    continue
                if obj.get("requestId") in self.ping_ids and "pong" in obj:
                    continue
                await self.queue.put(obj)
        except Exception as e:  # noqa: BLE001
            self.problem = f"{self.nick}'s reader failed: {e!r}"
        if self.problem is None:
            self.problem = f"{self.nick}'s connection closed: {self.ws.close_code} {self.ws.close_reason!r}"

    async def request(self, obj, expect):
        rid = self.take_id()
        await self.send({"requestId": str(rid), **obj})
        deadline = Deadline(WAIT)
        while True:
            frame_ = await self.get(deadline.remaining(f"the reply to {obj}"), f"the reply to {obj}")
            if frame_.get("requestId") == str(rid):
                check(expect in frame_, f"{self.nick}: {obj} answered {frame_}, expected {expect}")
                return frame_[expect]
            check_event(self.nick, frame_)


def check_event(nick, obj, allowed=("memberJoined", "memberLeft", "typing", "roomMessage")):
    check("requestId" not in obj, f"{nick}: a reply to a request not asked: {obj}")
    kinds = [k for k in obj if k != "requestId"]
    check(len(kinds) == 1 and kinds[0] in allowed, f"{nick}: unexpected frame {obj}")


class BinaryClient(QueuedClient):
    """carol: chat.v1 over a raw asyncio connection, frames and protobuf by hand."""

    async def connect(self, port):
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT)
        key = new_key()
        self.writer.write(upgrade_request(port, key=key, protocol="chat.v1"))
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), WAIT)
        check(head.startswith(b"HTTP/1.1 101"), f"carol's upgrade -> {head[:100]!r}")
        check(f"sec-websocket-accept: {accept_key(key)}".lower().encode() in head.lower(), "carol: wrong accept key")
        check(b"sec-websocket-protocol: chat.v1\r\n" in head.lower(), f"carol: subprotocol in {head!r}")
        self.task = asyncio.create_task(self._read())

    async def send(self, payload):
        self.writer.write(frame(OP_BINARY, payload))
        await asyncio.wait_for(self.writer.drain(), WAIT)

    async def _read(self):
        buf = bytearray()
        try:
            while True:
                parsed = parse_server_frame(buf)
                if parsed is None:
                    chunk = await self.reader.read(65536)
                    if not chunk:
                        self.problem = "carol's connection closed"
                        return
                    buf += chunk
                    continue
                f, used = parsed
                del buf[:used]
                if f.opcode == OP_PING:
                    self.writer.write(frame(OP_PONG, f.payload))
                    continue
                if f.opcode == OP_CLOSE:
                    self.problem = f"carol got close {f.close_code()} {f.payload[2:]!r}"
                    return
                if f.opcode != OP_BINARY or not f.fin:
                    self.problem = f"carol got {f} on chat.v1 (binary, unfragmented expected)"
                    continue
                fields = pb_parse(f.payload)
                kind = server_frame_case(fields)
                if kind == "ping":
                    rid = self.take_id()
                    self.ping_ids.add(rid)
                    nonce = pb_first(pb_parse(pb_first(fields, 32, b"")), 1, 0)
                    await self.send(client_ping_pb(rid, nonce))
                    continue
                if kind == "pong" and pb_first(fields, 1) in self.ping_ids:
                    continue
                await self.queue.put((kind, fields))
        except Exception as e:  # noqa: BLE001
            self.problem = f"carol's reader failed: {e!r}"

    async def request(self, payload_of_id, expect):
        rid = self.take_id()
        await self.send(payload_of_id(rid))
        deadline = Deadline(WAIT)
        while True:
            kind, fields = await self.get(deadline.remaining(f"carol's {expect}"), f"carol's {expect}")
            if pb_first(fields, 1, 0) == rid:
                check(kind == expect, f"carol: expected {expect}, got {kind} {fields}")
                return fields
            check(pb_first(fields, 1, 0) == 0 and kind in ("memberJoined", "memberLeft", "typing", "roomMessage"),
                  f"carol: unexpected frame {kind} {fields}")

    def close(self):
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001
            pass


class Healthy:
    def __init__(self, port):
        self.port = port
        self.round = 0
        self.last_seq = None

    async def start(self):
        port = self.port
        # alice offers permessage-deflate (the library's default): the server must decline it.
        self.alice = await JsonClient.connect(port, "alice")
        self.bob = await JsonClient.connect(port, "bob", compression=None, origin=f"http://127.0.0.1:{port}")
        self.carol = BinaryClient("carol")
        await self.carol.connect(port)
        for client in (self.alice, self.bob):
            welcome = await client.request({"hello": {"protocolVersion": 1, "nick": client.nick}}, "welcome")
            check(welcome.get("nick") == client.nick, f"welcome for {client.nick}: {welcome}")
            check(welcome.get("protocolVersion") == 1, f"welcome.protocolVersion: {welcome}")
            limits = welcome.get("limits", {})
            check(limits.get("maxFrameBytes") == MAX_MESSAGE_BYTES, f"welcome.limits.maxFrameBytes: {limits}")
            check(limits.get("idleTimeoutMs") == IDLE_TIMEOUT_MS, f"welcome.limits.idleTimeoutMs: {limits}")
            check(isinstance(welcome.get("sessionId"), str), f"uint64 sessionId not a JSON string: {welcome}")
            join = await client.request({"join": {"room": "lobby"}}, "joinReply")
            check(join.get("room") == "lobby", f"joinReply: {join}")
        fields = await self.carol.request(lambda rid: client_hello_pb(rid, "carol"), "welcome")
        welcome = pb_parse(pb_first(fields, 2))
        check(pb_first(welcome, 5) == b"carol", f"carol's binary welcome: {welcome}")
        fields = await self.carol.request(lambda rid: client_join_pb(rid, "lobby"), "joinReply")
        join = pb_parse(pb_first(fields, 5))
        check(pb_first(join, 4) == 3, f"carol's joinReply member_count {pb_first(join, 4)}, expected 3")
        # Carol's binary message reaches the JSON clients.
        fields = await self.carol.request(lambda rid: client_send_pb(rid, "lobby", "from carol", 4242), "ack")
        ack = pb_parse(pb_first(fields, 6))
        self.last_seq = pb_first(ack, 2)
        for client in (self.alice, self.bob):
            message = await self.wait_room_message(client, "from carol")
            check(message.get("from") == "carol" and message.get("seq") == str(self.last_seq)
                  and message.get("clientMsgId") == "4242", f"{client.nick} got {message}")

    async def wait_room_message(self, client, text):
        deadline = Deadline(WAIT)
        while True:
            obj = await client.get(deadline.remaining(f"{client.nick}'s roomMessage {text!r}"), f"roomMessage {text!r}")
            check_event(client.nick, obj)
            if "roomMessage" in obj:
                message = obj["roomMessage"]
                if message.get("from") == client.nick:
                    continue  # an echo of one's own message, if the server sends one
                check(message.get("text") == text, f"{client.nick}: expected {text!r}, got {message} (lost or reordered)")
                check(message.get("room") == "lobby", f"{client.nick}: {message}")
                return message

    async def check(self):
        """alice sends message N; bob and carol each receive it, with the next sequence."""
        self.round += 1
        n = self.round
        text = f"msg {n}" if n % 5 else f"msg {n} " + "é" * 300  # every fifth needs a 16-bit length
        ack = await self.alice.request({"send": {"room": "lobby", "text": text, "clientMsgId": str(n)}}, "ack")
        check(isinstance(ack.get("seq"), str), f"uint64 seq not a JSON string: {ack}")
        seq = int(ack["seq"])
        expected, self.last_seq = self.last_seq + 1, seq  # resync, so one failure does not fail every later round
        check(seq == expected, f"alice's message {n} got seq {seq}, expected {expected}")
        check(ack.get("clientMsgId") == str(n) and ack.get("room") == "lobby", f"ack: {ack}")
        check("duplicate" not in ack, f"a first send acknowledged as a duplicate: {ack}")
        message = await self.wait_room_message(self.bob, text)
        check(message.get("from") == "alice" and message.get("seq") == str(seq) and message.get("clientMsgId") == str(n),
              f"bob got {message}, expected seq {seq} from alice")
        deadline = Deadline(WAIT)
        while True:
            kind, fields = await self.carol.get(deadline.remaining("carol's roomMessage"), f"carol's message {n}")
            check(kind in ("roomMessage", "memberJoined", "memberLeft", "typing"), f"carol: unexpected {kind} {fields}")
            if kind != "roomMessage":
                continue
            m = pb_parse(pb_first(fields, 20))
            if pb_first(m, 3) == b"carol":
                continue
            check(pb_first(m, 4, b"").decode() == text, f"carol: expected {text!r}, got {m}")
            check(pb_first(m, 2) == seq and pb_first(m, 3) == b"alice" and pb_first(m, 6) == n, f"carol got {m}, expected seq {seq}")
            break

    def problems(self):
        return [c.problem for c in (self.alice, self.bob, self.carol) if c.problem]

    async def close(self):
        for c in (self.alice, self.bob):
            try:
                await asyncio.wait_for(c.ws.close(), WAIT)
            except Exception:  # noqa: BLE001
                pass
        self.carol.close()


# ------------------------------------------------------------------------------------------------
# Conforming-client checks through the websockets library

async def case_lib_ping_close(port):
    ws = await asyncio.wait_for(websockets.connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["chat.v1.json"],
                                                   ping_interval=None, open_timeout=WAIT, close_timeout=WAIT), WAIT)
    check(ws.subprotocol == "chat.v1.json", f"negotiated {ws.subprotocol!r}")
    await ws.send(json.dumps({"requestId": "1", "hello": {"protocolVersion": 1, "nick": next(NICKS)}}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    check("welcome" in reply and reply.get("requestId") == "1", f"Hello -> {reply}")
    waiter = await ws.ping(b"library ping")
    await asyncio.wait_for(waiter, WAIT)
    started = time.monotonic()
    await asyncio.wait_for(ws.close(1000, "done"), 3 * WAIT)
    elapsed = time.monotonic() - started
    check(ws.close_code == 1000, f"the server answered the close with {ws.close_code} {ws.close_reason!r}, expected 1000")
    # The legacy client waits close_timeout for the server to close TCP: a quick close means the
    # server closed it.
    check(elapsed < WAIT * 0.8, f"the closing handshake took {elapsed:.1f}s: the server did not close the TCP connection")
    return f"pong received; close answered {ws.close_code} in {elapsed * 1000:.0f} ms"


async def case_lib_origin(port):
    ws = await asyncio.wait_for(websockets.connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["chat.v1.json"],
                                                   origin=f"http://127.0.0.1:{port}", ping_interval=None,
                                                   open_timeout=WAIT), WAIT)
    await asyncio.wait_for(ws.close(), WAIT)
    try:
        ws = await asyncio.wait_for(websockets.connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["chat.v1.json"],
                                                       origin="http://evil.example", ping_interval=None,
                                                       open_timeout=WAIT), WAIT)
        await ws.close()
        raise Fail("a foreign Origin was let in")
    except websockets.exceptions.InvalidStatusCode as e:
        check(e.status_code == 403, f"a foreign Origin -> {e.status_code}, expected 403")


async def case_lib_no_subprotocol(port):
    try:
        ws = await asyncio.wait_for(websockets.connect(f"ws://127.0.0.1:{port}/ws", ping_interval=None,
                                                       open_timeout=WAIT), WAIT)
        await ws.close()
        raise Fail("an upgrade without a subprotocol was accepted")
    except websockets.exceptions.InvalidStatusCode as e:
        check(e.status_code == 400, f"no subprotocol -> {e.status_code}, expected 400")


# ------------------------------------------------------------------------------------------------

def build_cases():
    T, B, C = OP_TEXT, OP_BINARY, OP_CONT
    huge = 1 << 40
    return [
        # HTTP
        ("http GET / (type, CSP, nosniff, ETag)", case_http_index),
        ("http index.html runs under its own CSP", case_index_obeys_its_csp),
        ("http If-None-Match -> 304 without body", case_http_etag_304),
        ("http GET /app.js (and its modules)", case_http_app_js),
        ("http GET /app.css", case_http_app_css),
        ("http keep-alive and pipelining", case_http_keep_alive),
        ("http unknown path -> 404", case_http_404),
        ("http POST -> 405", case_http_405),
        ("http malformed request line -> 400", case_http_400_malformed),
        ("http head over 8 KiB -> 431", case_http_431),
        ("http target over 2 KiB -> 414", case_http_414),
        # opening handshake
        ("ws 101 chat.v1.json, RFC accept key, no extension", case_ws_101_json),
        ("ws 101 chat.v1", case_ws_101_binary),
        ("ws Upgrade/Connection case-insensitive tokens", case_ws_101_case_insensitive),
        ("ws subprotocol chosen from the offer", case_ws_subprotocol_choice),
        ("ws missing/bad Sec-WebSocket-Key -> 400", case_ws_400_bad_key),
        ("ws missing Upgrade -> 400", case_ws_400_missing_upgrade),
        ("ws missing Connection: upgrade -> 400", case_ws_400_missing_connection),
        ("ws version != 13 -> 426 + Sec-WebSocket-Version: 13", case_ws_426_version),
        ("ws no supported subprotocol -> 400", case_ws_400_no_subprotocol),
        ("ws foreign Origin -> 403", case_ws_403_origin),
        ("ws own Origin and no Origin -> 101", case_ws_own_origin_and_none),
        ("ws Origin of a DNS name not in web_origins", case_ws_origin_of_a_dns_name),
        ("ws upgrade outside /ws refused", case_ws_upgrade_other_path),
        ("ws frames in the upgrade's segment", case_ws_early_frames),
        # frames
        ("frame unmasked -> 1002", bad_frame_case(frame(T, "{}", masked=False), 1002)),
        ("frame unmasked after Hello -> 1002", bad_frame_case(frame(T, "{}", masked=False), 1002, after_hello=True)),
        ("frame RSV1 -> 1002", bad_frame_case(frame(T, "{}", rsv=4), 1002)),
        ("frame RSV2 on a ping -> 1002", bad_frame_case(frame(OP_PING, "x", rsv=2), 1002)),
        ("frame RSV3 -> 1002", bad_frame_case(frame(B, b"x", rsv=1), 1002)),
        ("frame opcode 0x3 -> 1002", bad_frame_case(frame(0x3, b"x"), 1002)),
        ("frame opcode 0xB -> 1002", bad_frame_case(frame(0xB, b"x"), 1002)),
        ("frame ping of 126 bytes -> 1002", bad_frame_case(frame(OP_PING, b"p" * 126), 1002)),
        ("frame close of 126 bytes -> 1002", bad_frame_case(frame(OP_CLOSE, close_payload(1000, "r" * 124)), 1002)),
        ("frame fragmented ping (FIN=0) -> 1002", bad_frame_case(frame(OP_PING, b"x", fin=False), 1002)),
        ("frame continuation without a message -> 1002", bad_frame_case(frame(C, b"x"), 1002)),
        ("frame new message inside a fragmented one -> 1002",
         bad_frame_case(frame(T, "{", fin=False) + frame(T, "{}"), 1002)),
        ("utf8 invalid text -> 1007", bad_frame_case(frame(T, b'{"a":"\xff"}'), 1007)),
        ("utf8 overlong encoding -> 1007", bad_frame_case(frame(T, b"\xc0\xaf"), 1007)),
        ("utf8 surrogate -> 1007", bad_frame_case(frame(T, b"\xed\xa0\x80"), 1007)),
        ("utf8 above U+10FFFF -> 1007", bad_frame_case(frame(T, b"\xf4\x90\x80\x80"), 1007)),
        ("utf8 invalid across fragments -> 1007",
         bad_frame_case(frame(T, b'{"a":"\xe2\x82', fin=False) + frame(C, b'("}'), 1007)),
        ("utf8 message ending mid-sequence -> 1007",
         bad_frame_case(frame(T, b'"ab', fin=False) + frame(C, b"\xe2\x82"), 1007)),
        ("utf8 invalid after Hello -> 1007", bad_frame_case(frame(T, b"\xff"), 1007, after_hello=True)),
        ("fragments, UTF-8 split, ping between -> accepted", case_fragmented_valid_with_ping),
        ("too big: header declaring 2^40 only -> 1009", bad_frame_case(frame_header(T, huge), 1009)),
        ("too big: binary 2^40 header after Hello -> 1009", bad_frame_case(frame_header(B, huge), 1009, after_hello=True)),
        ("too big: header declaring max+1 only -> 1009", bad_frame_case(frame_header(T, MAX_MESSAGE_BYTES + 1), 1009)),
        ("too big: fragments over the max together -> 1009",
         bad_frame_case(frame(T, b" " * 40000, fin=False) + frame_header(C, 40000), 1009)),
        ("64-bit length with the top bit set -> 1002",
         bad_frame_case(frame_header(T, (1 << 63) | 5, length_form=64), 1002)),
        ("ping -> pong with the same payload", case_ping_pong),
        ("client close 1000 -> close answered, TCP closed", client_close_case(close_payload(1000, "bye"), (1000,), False)),
        ("client close after Hello -> close answered, TCP closed", client_close_case(close_payload(1000), (1000,), True)),
        ("client close 4000 -> close answered", client_close_case(close_payload(4000, "app"), (1000, 4000), True)),
        ("client close without body -> close answered", client_close_case(b"", (None, 1000), True)),
        ("close with a 1-byte body -> 1002", bad_frame_case(frame(OP_CLOSE, b"\x03"), 1002)),
        ("close with code 1005 -> 1002", bad_frame_case(frame(OP_CLOSE, close_payload(1005)), 1002)),
        ("close with code 999 -> 1002", bad_frame_case(frame(OP_CLOSE, close_payload(999)), 1002)),
        ("close reason not UTF-8 -> 1007", bad_frame_case(frame(OP_CLOSE, close_payload(1000, b"\xff")), 1007)),
        ("truncated frame then silence (before Hello) -> closed", truncated_case(False)),
        ("truncated frame then silence (after Hello) -> closed", truncated_case(True)),
        ("text not a ClientFrame, after Hello", invalid_json_case(True)),
        ("text not a ClientFrame, before Hello", invalid_json_case(False)),
        ("binary on chat.v1.json / text on chat.v1", case_wrong_message_type),
        ("unknown request kind, both formats", case_unknown_request_kind),
        ("unparsable binary on chat.v1 -> closed", case_binary_unparsable),
        # conforming client
        ("websockets: ping and closing handshake", case_lib_ping_close),
        ("websockets: own Origin ok, foreign Origin 403", case_lib_origin),
        ("websockets: no subprotocol -> 400", case_lib_no_subprotocol),
    ]


async def run_all(server):
    port = server.web_port
    results = []
    healthy = Healthy(port)
    try:
        await healthy.start()
        results.append(("healthy group: alice, bob (JSON), carol (binary) in lobby", True, "joined, carol's message delivered"))
        print("PASS  healthy group set up", flush=True)
    except Exception as e:  # noqa: BLE001
        print(f"FAIL  healthy group set up: {e}", flush=True)
        traceback.print_exc()
        return [("healthy group set up", False, str(e))]
    for name, fn in build_cases():
        started = time.monotonic()
        try:
            if asyncio.iscoroutinefunction(fn):
                detail = await fn(port)
            else:
                detail = await asyncio.to_thread(fn, port)
            ok = True
        except Fail as e:
            ok, detail = False, str(e)
        except Exception as e:  # noqa: BLE001
            ok, detail = False, f"{type(e).__name__}: {e}"
        took = time.monotonic() - started
        # The healthy group's turn: nothing lost, sequence consecutive.
        try:
            await healthy.check()
            group = ""
        except Exception as e:  # noqa: BLE001
            group = f"; HEALTHY GROUP BROKEN: {e}"
            ok = False
        if not server.alive():
            group += f"; SERVER EXITED with {server.proc.returncode}"
            ok = False
        line = f"{'PASS' if ok else 'FAIL'}  {name} ({took:.2f}s)" + (f": {detail}" if detail else "") + group
        print(line, flush=True)
        results.append((name, ok, (detail or "") + group))
        if not server.alive():
            break
    for problem in healthy.problems():
        print(f"FAIL  healthy group: {problem}", flush=True)
        results.append(("healthy group", False, problem))
    await healthy.close()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server-binary", required=True)
    args = parser.parse_args()
    print(f"websockets {websockets.__version__}, python {sys.version.split()[0]}", flush=True)
    server = Server(args.server_binary)
    results = []
    try:
        server.start()
        results = asyncio.run(run_all(server))
    except Fail as e:
        print(f"FAIL  {e}", flush=True)
        results = [("start", False, str(e))]
    finally:
        alive = server.alive()
        tail = server.log_tail()
        server.stop()
    failed = [r for r in results if not r[1]]
    if not alive and results and results[0][0] != "start":
        print("FAIL  the server was not running at the end", flush=True)
        failed.append(("server", False, "exited"))
    print(f"\n{sum(1 for r in results if r[1])} passed, {len(failed)} failed")
    if failed:
        print("server log tail:\n  " + "\n  ".join(tail))
        sys.exit(1)


if __name__ == "__main__":
    main()
