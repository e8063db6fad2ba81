"""A TCP proxy to a PostgreSQL server that holds every chunk DELAY_MS before passing it on, in
order (a database in another region, or behind a bastion), and a connection's TCP handshake
as a round trip too. Used by the benchmarks (bench/) and
by tests that count the round trips of a connection (test_round_trips.sh).

    python3 tests/lib/delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS [TRIPS_FILE]

With TRIPS_FILE, one line per connection when it closes: the client's turns (each time the
client sent after the server had spoken, or first: the connection's start-up included, and the
Terminate message at the end, which waits for nothing) and the requests it made before the
startup packet (ssl, gssenc).
"""
import asyncio
import struct
import sys
import time

listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
trips_file = sys.argv[4] if len(sys.argv) > 4 else None
REQUESTS = {80877103: "ssl", 80877104: "gssenc"}


class Turns:
    def __init__(self):
        self.last = None
        self.client_turns = 0
        self.requests = []
        self.first = b""

    def saw(self, side, data):
        if side == "c":
            if self.last != "c":
                self.client_turns += 1
            if len(self.first) < 8:
                self.first += data[: 8 - len(self.first)]
                if len(self.first) == 8:
                    length, code = struct.unpack("!II", self.first)
                    if length == 8 and code in REQUESTS:
                        self.requests.append(REQUESTS[code])
                        self.first = b""  # the next packet may be another request
        self.last = side


async def pipe(reader, writer, side, turns):
    queue = asyncio.Queue()

    async def read():
        while True:
            data = await reader.read(65536)
            if data and turns:
                turns.saw(side, data)
            queue.put_nowait((time.monotonic() + delay, data))
            if not data:
                return

    async def write():
        while True:
            due, data = await queue.get()
            if due > time.monotonic():
                await asyncio.sleep(due - time.monotonic())
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(read(), write())


async def handle(client_r, client_w):
    turns = Turns() if trips_file else None
    # The kernel accepted at once: the handshake's round trip of a real link is paid here, before
    # the client's first bytes are read.
    await asyncio.sleep(2 * delay)
    server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
    await asyncio.gather(
        pipe(client_r, server_w, "c", turns),
        pipe(server_r, client_w, "s", turns),
        return_exceptions=True,
    )
    if turns:
        with open(trips_file, "a") as f:
            f.write(f"{turns.client_turns} {','.join(turns.requests) or '-'}\n")


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=512)
    async with server:
        await server.serve_forever()


asyncio.run(main())
