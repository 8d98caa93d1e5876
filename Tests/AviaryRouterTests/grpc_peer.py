"""A gRPC server and client (the real grpcio) for the router's HTTP/2 tests.

    grpc_peer.py server PORT NAME
        Serves aviary.Echo on 127.0.0.1:PORT in cleartext HTTP/2 and prints "ready". Every answer
        says NAME, so a client can tell which backend a call reached.
    grpc_peer.py client TARGET CALLS [CA_FILE]
        Calls every method through TARGET (over TLS with CA_FILE, as "localhost") and prints one
        JSON line of what came back.

Messages are raw bytes (no protobuf): the router never looks inside them.
"""

import json
import sys
import time
from concurrent import futures

import grpc

SERVICE = "aviary.Echo"


def serve(port, name):
    def unary(request, context):
        context.set_trailing_metadata((("x-served-by", name),))
        return name.encode() + b":" + request

    def server_stream(request, context):
        for index in range(int(request.decode())):
            yield f"{name}:{index}".encode()

    def client_stream(requests, context):
        count = 0
        size = 0
        for message in requests:
            count += 1
            size += len(message)
        return f"{name}:{count}:{size}".encode()

    def bidi(requests, context):
        for message in requests:
            yield name.encode() + b":" + message

    def slow(request, context):
        time.sleep(float(request.decode()))
        return name.encode()

    def fail(request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing: " + request.decode())

    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def client(target, calls, ca_file=None):
    if ca_file:
        with open(ca_file, "rb") as handle:
            credentials = grpc.ssl_channel_credentials(root_certificates=handle.read())
        channel = grpc.secure_channel(target, credentials)
    else:
        channel = grpc.insecure_channel(target)
    report = {}
    with channel:
        grpc.channel_ready_future(channel).result(timeout=20)
        unary = channel.unary_unary(f"/{SERVICE}/Unary")
        names = []
        for index in range(calls):
            answer = unary(f"hello-{index}".encode(), timeout=20)
            names.append(answer.decode().split(":")[0])
        report["names"] = names
        # Calls that ask for the canary by a header (gRPC metadata) and calls that do not,
        # alternating on the one connection.
        report["headerNames"] = [
            unary(b"h", timeout=20, metadata=((("x-canary", "yes"),) if index % 2 else ())).decode().split(":")[0]
            for index in range(10)
        ]
        answer, call = unary.with_call(b"payload", timeout=20)
        report["unary"] = answer.decode()
        report["trailer"] = dict(call.trailing_metadata()).get("x-served-by")
        big = b"x" * (3 << 20)
        report["bigUnary"] = len(unary(big, timeout=30))

        stream = channel.unary_stream(f"/{SERVICE}/ServerStream")
        report["serverStream"] = [message.decode() for message in stream(b"50", timeout=20)]

        upload = channel.stream_unary(f"/{SERVICE}/ClientStream")
        report["clientStream"] = upload((b"y" * 1000 for _ in range(200)), timeout=20).decode()

        bidi = channel.stream_stream(f"/{SERVICE}/Bidi")
        report["bidi"] = [message.decode() for message in bidi((f"m{i}".encode() for i in range(20)), timeout=20)]

        fail = channel.unary_unary(f"/{SERVICE}/Fail")
        try:
            fail(b"widget", timeout=20)
            report["fail"] = None
        except grpc.RpcError as error:
            report["fail"] = [error.code().name, error.details()]

        slow = channel.unary_unary(f"/{SERVICE}/Slow")
        started = time.monotonic()
        try:
            slow(b"5", timeout=0.5)
            report["deadline"] = None
        except grpc.RpcError as error:
            report["deadline"] = error.code().name
        report["deadlineSeconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
