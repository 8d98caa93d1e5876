"""A bare HTTP/1.1 server for the router's tests: it says how each request's body was framed
and answers chunked, with the body's length in a trailer field; on /echo the answer is the
body itself.

    python3 http1_trailers_peer.py PORT    prints "ready" once it listens on 127.0.0.1:PORT
"""
import socket
import sys
import threading


def read_request(stream):
    """One request: (path, body, framing), or None when the client closed."""
    line = stream.readline()
    if not line:
        return None
    path = line.split(b" ")[1]
    fields = {}
    while True:
        line = stream.readline()
        if line in (b"\r\n", b""):
            break
        name, value = line.decode("latin-1").split(":", 1)
        fields[name.strip().lower()] = value.strip()
    if fields.get("transfer-encoding", "").lower() == "chunked":
        body, trailers = b"", []
        while True:
            size = int(stream.readline().split(b";")[0], 16)
            if size == 0:
                break
            body += stream.read(size)
            stream.readline()
        while True:
            line = stream.readline()
            if line in (b"\r\n", b""):
                break
            trailers.append(line.decode("latin-1").strip())
        return path, body, "chunked" + ("+" + ",".join(trailers) if trailers else "")
    length = int(fields.get("content-length", "0"))
    return path, stream.read(length), "length" if "content-length" in fields else "none"


def serve(connection):
    with connection, connection.makefile("rb") as stream:
        while True:
            request = read_request(stream)
            if request is None:
                return
            path, body, framing = request
            payload = body if path == b"/echo" else f"framing={framing} bytes={len(body)}\n".encode()
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                + b"Trailer: X-Body-Length\r\n\r\n"
                + b"%x\r\n%s\r\n" % (len(payload), payload)
                + b"0\r\nX-Body-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            )


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(16)
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    main()
