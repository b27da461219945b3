"""PyMoDAQ-side clients for the tests of `tether device`'s ZeroMQ transport (docs/pymodaq.md).

`Link` behaves as the Raspberry plugin's link to the Pi does: a DEALER socket with a uuid4
string identity, receive and send timeouts (2 s by default), LINGER 0, and on a timeout the
socket is closed and a new one opened with a new identity, the request answered locally with
an ERROR. It sends `scan` when it opens, grabs with one AQ-MULTI of address components (no
channel) then pin components, and moves with a PI carrying a float value and a string pin.
`kind: "req"` gives the same link over a REQ socket.

The tests drive it over stdin/stdout, one JSON command a line in and one JSON result a line out
(with the command's `id`), so a test can script steps across several clients:

  {"op": "open", "name": "a", "kind": "dealer", "endpoint": "tcp://127.0.0.1:5555", "timeout_ms": 2000}
      -> {"identity": "...", "scan": {...}}          a DEALER scans on open unless "scan": false
  {"op": "request", "name": "a", "body": {...}}      also "text": "..." or "b64": "..." (raw bytes)
      -> {"reply": {...}, "frames": 1, "reconnected": false, "identity": "..."}
  {"op": "scan"} / {"op": "multi_acquisition", "addresses": ["0x48"], "pins": [18]}
      / {"op": "pilotage", "pin": 23, "value": 200}  as "request", with the plugin's JSON
  {"op": "send", "name": "a", "frames": ["text", {"b64": "..."}]}   raw frames, no reply awaited
  {"op": "recv", "name": "a", "timeout_ms": 1000}    the next raw message, or {"timeout": true}
  {"op": "repeat", "count": 10000, "command": {...}, "expect_shape": "ACK number"}
      -> {"shapes": {"ACK number": 10000}, "first_other": null, "seconds": 3.2}
  {"op": "close", "name": "a"}   {"op": "sleep", "s": 0.5}

A command that fails answers {"ok": false, "error": "..."}; every answer carries the command's id.

Run with Debian's python3-zmq: /usr/bin/python3 zmqlink_client.py.
"""

import base64
import json
import sys
import time
import uuid

import zmq

CONTEXT = zmq.Context.instance()


class Link:
    def __init__(self, kind, endpoint, timeout_ms):
        if kind not in ("dealer", "req"):
            raise ValueError(f'kind must be "dealer" or "req", got {kind!r}')
        self.kind = kind
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self.socket = None
        self.identity = None
        self.reconnects = 0
        self._connect()

    def _connect(self):
        self.identity = str(uuid.uuid4())
        sock = CONTEXT.socket(zmq.DEALER if self.kind == "dealer" else zmq.REQ)
        sock.setsockopt_string(zmq.IDENTITY, self.identity)
        sock.setsockopt(zmq.RCVTIMEO, self.timeout_ms)
        sock.setsockopt(zmq.SNDTIMEO, self.timeout_ms)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.endpoint)
        self.socket = sock

    def _reconnect(self):
        # As the plugin does after a timeout: a REQ socket would stay stuck waiting for its reply,
        # and a DEALER could later read the late answer to this request as the next one's.
        self.socket.close(linger=0)
        self.reconnects += 1
        self._connect()

    def request_bytes(self, payload):
        """Sends one frame and returns (reply, frame count); a timeout reconnects and is an ERROR."""
        try:
            self.socket.send(payload)
            frames = self.socket.recv_multipart()
        except zmq.Again:
            self._reconnect()
            return {"state": "ERROR", "value": f"timeout: no reply within {self.timeout_ms} ms"}, 0
        return json.loads(frames[-1].decode("utf-8")), len(frames)

    def request(self, body):
        return self.request_bytes(json.dumps(body).encode("utf-8"))

    def close(self):
        self.socket.close(linger=0)


def frames_out(frames):
    out = []
    for frame in frames:
        try:
            out.append({"text": frame.decode("utf-8")})
        except UnicodeDecodeError:
            out.append({"b64": base64.b64encode(frame).decode("ascii")})
    return out


def frame_in(item):
    if isinstance(item, str):
        return item.encode("utf-8")
    return base64.b64decode(item["b64"])


def payload_of(cmd):
    if "body" in cmd:
        return json.dumps(cmd["body"]).encode("utf-8")
    if "text" in cmd:
        return cmd["text"].encode("utf-8")
    if "b64" in cmd:
        return base64.b64decode(cmd["b64"])
    raise ValueError('request needs "body", "text" or "b64"')


def address_component(address):
    if isinstance(address, dict):
        return {"register": "add", **address}
    return {"register": "add", "add": address}


def request_body(cmd):
    """The JSON the plugin sends for a request-type command, or None for a raw one."""
    op = cmd["op"]
    if op == "scan":
        return {"type": "scan"}
    if op == "multi_acquisition":
        components = [address_component(a) for a in cmd.get("addresses", [])]
        components += [{"register": "pin", "pin": p} for p in cmd.get("pins", [])]
        return {"type": "AQ-MULTI", "components": components}
    if op == "pilotage":
        return {"type": "PI", "register": "pin", "pin": str(cmd["pin"]), "value": float(cmd["value"])}
    return None


class Driver:
    def __init__(self):
        self.links = {}

    def link(self, cmd):
        name = cmd.get("name", "default")
        if name not in self.links:
            raise KeyError(f"no open client named {name!r}")
        return self.links[name]

    def run(self, cmd):
        op = cmd.get("op")
        if op == "open":
            name = cmd.get("name", "default")
            if name in self.links:
                self.links.pop(name).close()
            link = Link(cmd.get("kind", "dealer"), cmd["endpoint"], int(cmd.get("timeout_ms", 2000)))
            self.links[name] = link
            result = {"identity": link.identity}
            if cmd.get("scan", link.kind == "dealer"):
                result["scan"], _ = link.request({"type": "scan"})
            return result
        if op in ("request", "scan", "multi_acquisition", "pilotage"):
            link = self.link(cmd)
            before = link.reconnects
            body = request_body(cmd)
            payload = json.dumps(body).encode("utf-8") if body is not None else payload_of(cmd)
            reply, count = link.request_bytes(payload)
            return {"reply": reply, "frames": count, "reconnected": link.reconnects > before, "identity": link.identity}
        if op == "send":
            self.link(cmd).socket.send_multipart([frame_in(f) for f in cmd["frames"]])
            return {}
        if op == "recv":
            sock = self.link(cmd).socket
            if sock.poll(int(cmd.get("timeout_ms", 2000)), zmq.POLLIN) == 0:
                return {"timeout": True}
            return {"timeout": False, "frames": frames_out(sock.recv_multipart())}
        if op == "repeat":
            return self.repeat(cmd)
        if op == "close":
            self.links.pop(cmd.get("name", "default")).close()
            return {}
        if op == "sleep":
            time.sleep(float(cmd["s"]))
            return {}
        raise ValueError(f"unknown op {op!r}")

    def repeat(self, cmd):
        """Runs one request command `count` times; counts the replies by shape, keeps the first odd one."""
        inner = cmd["command"]
        expected = cmd.get("expect_shape")
        shapes = {}
        first_other = None
        started = time.monotonic()
        for _ in range(int(cmd["count"])):
            reply = self.run(inner)["reply"]
            shape = shape_of(reply)
            shapes[shape] = shapes.get(shape, 0) + 1
            if first_other is None and expected is not None and shape != expected:
                first_other = reply
        return {"shapes": shapes, "first_other": first_other, "seconds": round(time.monotonic() - started, 3)}


def shape_of(reply):
    """"ACK [number, number]": the state and the JSON types of the value (of each item of a list)."""
    value = reply.get("value") if isinstance(reply, dict) else None
    if isinstance(value, list):
        inner = ", ".join(type_name(v) for v in value)
        return f"{reply.get('state')} [{inner}]"
    return f"{reply.get('state') if isinstance(reply, dict) else '?'} {type_name(value)}"


def type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return f"{value.get('state')} object" if "state" in value else "object"
    return type(value).__name__


def main():
    driver = Driver()
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd_id = None
        try:
            cmd = json.loads(line)
            cmd_id = cmd.get("id")
            out = {"id": cmd_id, "ok": True, **driver.run(cmd)}
        except Exception as e:  # the test reads the failure; the driver keeps serving
            out = {"id": cmd_id, "ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    for link in driver.links.values():
        link.close()
    CONTEXT.term()


if __name__ == "__main__":
    main()
