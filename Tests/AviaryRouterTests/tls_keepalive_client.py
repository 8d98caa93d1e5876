"""One TLS connection kept open across a certificate rotation, for the router's TLS tests.

Usage: python3 tls_keepalive_client.py PORT CAFILE GO_FILE
  Connects to 127.0.0.1:PORT (server name localhost, verified against CAFILE), sends a GET and
  prints "first STATUS SUBJECT-CN"; then waits until GO_FILE exists, sends a second GET on the
  same connection and prints "second STATUS". Exits 1 if the connection was lost.
"""

import http.client
import os
import ssl
import sys
import time


def main():
    port, cafile, go_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    context = ssl.create_default_context(cafile=cafile)
    connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=60)
    connection.request("GET", "/")
    response = connection.getresponse()
    response.read()
    subject = dict(pair[0] for pair in connection.sock.getpeercert()["subject"])
    print("first", response.status, subject.get("commonName"), flush=True)
    deadline = time.time() + 120
    while not os.path.exists(go_file):
        if time.time() > deadline:
            sys.exit("GO_FILE never appeared")
        time.sleep(0.05)
    # http.client reconnects on its own when the connection was closed: refuse that.
    socket_before = connection.sock
    connection.request("GET", "/")
    response = connection.getresponse()
    response.read()
    if connection.sock is not socket_before:
        sys.exit("the first connection was lost")
    print("second", response.status, flush=True)


if __name__ == "__main__":
    main()
