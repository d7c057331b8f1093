#!/usr/bin/env python3
"""A webhook receiver for benchmarks: answers every request 200 at once, keeps connections
alive, and counts the POSTs. Not a real receiver (it checks no signature): it stands for a
gateway so fast that the measured rate is CreditOps' own.

    python3 scripts/webhook-sink.py PORT COUNT_FILE

Writes the number of POSTs received to COUNT_FILE every second and on SIGTERM."""
import asyncio
import signal
import sys

REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}"
received = 0


async def serve(reader, writer):
    global received
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            if head.startswith(b"POST"):
                received += 1
            writer.write(REPLY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def write_count(path):
    with open(path, "w") as file:
        file.write(f"{received}\n")


async def main(port, path):
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        while not stop.is_set():
            write_count(path)
            try:
                await asyncio.wait_for(stop.wait(), timeout=1)
            except asyncio.TimeoutError:
                pass
    write_count(path)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
