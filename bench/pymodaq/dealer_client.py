"""The client of `npm run bench:pymodaq`: sends requests the way the PyMoDAQ Raspberry plugin's
ZMQLink does (a DEALER socket with a uuid identity, one JSON frame, a 2 s timeout) and times each
round trip with time.perf_counter around the send and the receive.

Driven by the bench over stdin/stdout, one JSON object a line each way:
  {"op": "open", "name": n, "endpoint": "tcp://127.0.0.1:5555"}  → {"ok": true}
  {"op": "check", "name": n, "request": {...}}                   → {"dealer": reply, "req": reply}
      (the same request once over the DEALER and once over a fresh REQ socket, untimed)
  {"op": "run", "name": n, "request": {...}, "n": 100, "gap_ms": 0}
                                                                 → {"ms": [round trips], "reply": last}
      (gap_ms: a pause before each request, outside the timing)
Every reply of a run must be an ACK whose items are values, not ERROR objects; otherwise the
answer is {"error": "...", "reply": ...} and the bench stops.
"""

import json
import sys
import time
import uuid

import zmq

TIMEOUT_MS = 2000  # the plugin's timeout_ms

context = zmq.Context()
dealers = {}
endpoints = {}


def dealer(endpoint):
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode("ascii"))
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    return sock


def receive(sock, frames_expected):
    if not sock.poll(TIMEOUT_MS):
        raise TimeoutError("no reply within %d ms" % TIMEOUT_MS)
    frames = sock.recv_multipart()
    if len(frames) != frames_expected:
        raise ValueError("reply of %d frames, expected %d" % (len(frames), frames_expected))
    return frames[-1]


def problem(reply):
    if not isinstance(reply, dict) or reply.get("state") != "ACK":
        return "not an ACK"
    value = reply.get("value")
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        return "an item failed"
    return None


def check(name, request):
    data = json.dumps(request).encode("utf-8")
    sock = dealers[name]
    sock.send(data)
    via_dealer = json.loads(receive(sock, 1))
    req = context.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(endpoints[name])
    try:
        req.send(data)
        via_req = json.loads(receive(req, 1))
    finally:
        req.close()
    return {"dealer": via_dealer, "req": via_req}


def run(name, request, n, gap_ms):
    data = json.dumps(request).encode("utf-8")
    sock = dealers[name]
    ms = []
    reply = None
    for _ in range(n):
        if gap_ms > 0:
            time.sleep(gap_ms / 1000.0)
        t0 = time.perf_counter()
        sock.send(data)
        raw = receive(sock, 1)
        ms.append((time.perf_counter() - t0) * 1000.0)
        reply = json.loads(raw)
        why = problem(reply)
        if why is not None:
            return {"error": why, "reply": reply}
    return {"ms": ms, "reply": reply}


def main():
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        try:
            if op == "open":
                endpoints[command["name"]] = command["endpoint"]
                dealers[command["name"]] = dealer(command["endpoint"])
                out = {"ok": True}
            elif op == "check":
                out = check(command["name"], command["request"])
            elif op == "run":
                out = run(command["name"], command["request"], command["n"], command.get("gap_ms", 0))
            else:
                out = {"error": "unknown op " + op}
        except (TimeoutError, ValueError) as e:
            out = {"error": str(e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
