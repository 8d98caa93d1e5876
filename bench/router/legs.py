#!/usr/bin/env python3
"""Where a proxied request's time goes, from a loopback packet capture (bench/router/run LEGS=1).

Usage: legs.py CAPTURE.pcap PROXY_PORT BACKEND_PORT[,BACKEND_PORT...]

The load generator tags each request with an `X-Req: ID` header (any case), which every proxy
forwards. For each request seen whole, four times are read off the capture:

  t0  the request reaches the proxy          (client -> proxy, the packet carrying X-Req)
  t1  the proxy sends it to a backend         (proxy -> backend, the packet carrying X-Req)
  t2  the backend's response reaches the proxy (the next backend -> proxy payload on that connection)
  t3  the proxy sends the response            (the next proxy -> client payload on that connection)

and printed as percentiles of: in (t1 - t0), backend (t2 - t1), out (t3 - t2), proxy window
(t3 - t0), and the client's turn: from t3 to the next request on the same client connection,
which holds the client's wait to be scheduled, read the response and write the next request.
Loopback timestamps are taken when a packet is sent, so a leg counts the receiver's wait for
the CPU as well as its work.
"""

import collections
import re
import struct
import sys

TAG = re.compile(rb"(?i)\r\nX-Req: ([0-9-]+)")


def packets(path):
    """(time, source port, destination port, payload) of each TCP/IPv4 packet with a payload."""
    with open(path, "rb") as capture:
        header = capture.read(24)
        magic, = struct.unpack("<I", header[:4])
        if magic not in (0xA1B2C3D4, 0xA1B23C4D):
            sys.exit(f"{path}: not a little-endian pcap file (magic {magic:#x}); write it with tcpdump -w")
        scale = 1e9 if magic == 0xA1B23C4D else 1e6
        link, = struct.unpack("<I", header[20:24])
        offset = {1: 14, 113: 16, 276: 20}.get(link, 4)  # Ethernet (lo), Linux cooked v1/v2, else BSD loopback
        while True:
            record = capture.read(16)
            if len(record) < 16:
                return
            seconds, fraction, length, _ = struct.unpack("<IIII", record)
            ip = capture.read(length)[offset:]
            if len(ip) < 20 or ip[0] >> 4 != 4:
                continue
            tcp = ip[(ip[0] & 15) * 4:]
            source, destination = struct.unpack(">HH", tcp[:4])
            payload = tcp[(tcp[12] >> 4) * 4:]
            if payload:
                yield seconds + fraction / scale, source, destination, payload


def percentiles(values):
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
    return " ".join(f"{name} {pick(q):6.3f}" for name, q in (("p50", .5), ("p90", .9), ("p99", .99), ("p99.9", .999)))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    path, proxy = sys.argv[1], int(sys.argv[2])
    backends = {int(port) for port in sys.argv[3].split(",")}
    requests = {}
    waiting_on_client = {}  # client port -> request whose response is due
    waiting_on_backend = {}  # proxy's upstream port -> request whose response is due
    turns, last_response = [], {}
    for time, source, destination, payload in packets(path):
        tag = TAG.search(payload)
        if destination == proxy and tag:
            key = tag.group(1)
            requests[key] = {"t0": time}
            waiting_on_client[source] = key
            if source in last_response:
                turns.append(time - last_response.pop(source))
        elif destination in backends and tag and tag.group(1) in requests:
            requests[tag.group(1)]["t1"] = time
            waiting_on_backend[source] = tag.group(1)
        elif source in backends and destination in waiting_on_backend:
            requests[waiting_on_backend.pop(destination)]["t2"] = time
        elif source == proxy and destination in waiting_on_client:
            requests[waiting_on_client.pop(destination)]["t3"] = time
            last_response[destination] = time
    whole = [r for r in requests.values() if len(r) == 4]
    if not whole or not turns:
        sys.exit(f"{path}: no whole request tagged X-Req between port {proxy} and {sorted(backends)}")
    print(f"{len(whole)} requests seen whole (of {len(requests)}); milliseconds")
    legs = (("in", "t0", "t1"), ("backend", "t1", "t2"), ("out", "t2", "t3"), ("proxy window", "t0", "t3"))
    for name, start, end in legs:
        print(f"  {name:<13} {percentiles([r[end] - r[start] for r in whole])}")
    print(f"  {'client turn':<13} {percentiles(turns)}")


if __name__ == "__main__":
    main()
