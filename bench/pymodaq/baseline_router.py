"""The baseline of `npm run bench:pymodaq`: the least a server can do to answer the PyMoDAQ
Raspberry plugin (docs/pymodaq.md) — a ZeroMQ ROUTER that looks each reading up in a dict held in
memory. No hardware, no leases, no checks beyond finding the value.

    python3 baseline_router.py [host]

prints `baseline ROUTER listening on <host>:<port>` once bound (any free port); SIGTERM ends it.
"""

import json
import sys

import zmq

# address → channel (None: the default one) → the value; what a thermal bench would read.
READINGS = {
    0x38: {None: 41.52, "hum": 41.52, "temp": 22.87},
    0x48: {None: 23.0625, "temp": 23.0625},
    0x49: {None: 22.8125, "temp": 22.8125},
    0x4A: {None: 21.9375, "temp": 21.9375},
    0x4B: {None: 22.125, "temp": 22.125},
    0x4C: {None: 24.0, "temp": 24.0, "external_temperature": 23.625},
    0x4D: {None: 22.41, "temp": 22.41},
}
PINS = {18: 0, 23: 0}


def error(text):
    return {"state": "ERROR", "value": text}


def component(body):
    register = body.get("register")
    try:
        if register == "add":
            value = READINGS.get(int(body["add"], 16), {}).get(body.get("channel"))
        elif register == "pin":
            value = PINS.get(int(body["pin"]))
        else:
            return error("bad_field: register is add or pin")
    except (KeyError, TypeError, ValueError):
        return error("bad_field: add is a hex string, pin an integer")
    if value is None:
        return error("bad_field: nothing at that address or pin")
    return {"state": "ACK", "value": value}


def answer(request):
    kind = request.get("type")
    if kind == "AQ":
        return component(request)
    if kind == "AQ-MULTI":
        items = [component(c) for c in request.get("components", [])]
        return {"state": "ACK", "value": [i["value"] if i["state"] == "ACK" else i for i in items]}
    return error("unknown_action: this baseline answers AQ and AQ-MULTI")


def serve(host):
    context = zmq.Context()
    sock = context.socket(zmq.ROUTER)
    port = sock.bind_to_random_port("tcp://" + host)
    print("baseline ROUTER listening on %s:%d" % (host, port), flush=True)
    while True:
        frames = sock.recv_multipart()
        # DEALER: [identity, json]; REQ: [identity, "", json]. Anything else goes unanswered.
        if len(frames) == 2:
            head, body = frames[:1], frames[1]
        elif len(frames) == 3 and frames[1] == b"":
            head, body = frames[:2], frames[2]
        else:
            continue
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            continue
        try:
            request = json.loads(text)
            reply = answer(request) if isinstance(request, dict) else error("not_an_object: send a JSON object")
        except ValueError:
            reply = error("bad_json: send one JSON document")
        sock.send_multipart(head + [json.dumps(reply).encode("utf-8")])


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1")
