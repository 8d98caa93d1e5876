"""A WebSocket peer for the router's upgrade tests, on the `websockets` package (PyPI).

Usage:
  python3 websocket_peer.py server PORT NAME
      An echo server on 127.0.0.1:PORT: the text "who" is answered with NAME, anything else
      is sent back as it came. Prints "ready" once it listens.
  python3 websocket_peer.py client URL CONNECTIONS ASKS MEGABYTES
      Opens CONNECTIONS connections to URL at once; on each, asks "who" ASKS times, then sends
      MEGABYTES of random binary messages (64 KiB each) while reading their echoes, and checks
      the echoes are the same bytes in the same order. Prints one JSON object:
      {"names": [[name, ...] per connection], "echoed": bytes echoed back intact in all}.
"""

import asyncio
import hashlib
import json
import os
import sys

import websockets


async def serve(port, name):
    async def handle(connection):
        async for message in connection:
            await connection.send(name if message == "who" else message)

    async with websockets.serve(handle, "127.0.0.1", port, max_size=None):
        print("ready", flush=True)
        await asyncio.Future()


async def one_connection(url, asks, megabytes):
    async with websockets.connect(url, max_size=None) as connection:
        names = []
        for _ in range(asks):
            await connection.send("who")
            names.append(await connection.recv())
        chunk = 64 * 1024
        count = megabytes * 1024 * 1024 // chunk
        messages = [os.urandom(chunk) for _ in range(count)]
        sent_digest = hashlib.sha256(b"".join(messages)).hexdigest()

        async def send_all():
            for message in messages:
                await connection.send(message)

        sender = asyncio.ensure_future(send_all())
        received = hashlib.sha256()
        echoed = 0
        for _ in range(count):
            message = await connection.recv()
            received.update(message)
            echoed += len(message)
        await sender
        if received.hexdigest() != sent_digest:
            echoed = -1
        return names, echoed


async def client(url, connections, asks, megabytes):
    results = await asyncio.gather(*(one_connection(url, asks, megabytes) for _ in range(connections)))
    echoed = sum(result[1] for result in results) if all(result[1] >= 0 for result in results) else -1
    print(json.dumps({"names": [result[0] for result in results], "echoed": echoed}), flush=True)


def main():
    if sys.argv[1] == "server":
        asyncio.run(serve(int(sys.argv[2]), sys.argv[3]))
    else:
        asyncio.run(client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))


if __name__ == "__main__":
    main()
