#!/usr/bin/env python3
"""shaping_proxy: a TCP proxy that behaves like a poor link, for bench/sync_bench.py.

This kernel has no netem, so the link is emulated here, in user space:

  rate    each direction is one serial link of --rate-kbit: a chunk read from one
          side leaves when the link is free and takes len/rate to send. All
          connections share the link, as they would share an office's line.
  delay   every chunk arrives --rtt-ms/2 after it left (so a round trip is --rtt-ms).
  queue   a router buffer of --queue-ms of link time; the proxy stops reading from a
          side while its direction's queue is full, so TCP's own flow control sees
          the slow link (nothing is buffered invisibly in the proxy).
  cuts    at random moments (exponential gaps, mean --cut-mean-s) every open
          connection is reset on both sides (SO_LINGER 0 -> RST), bytes in flight lost.

Counts the bytes that entered the link in each direction (TCP payload: TLS records
and their HTTP inside) and the cuts, and writes them as JSON to --stats whenever it
gets SIGTERM or SIGUSR1. Prints "listening <port>" once it accepts connections.
Python standard library only.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import struct
import sys


class Link:
    """One direction of the emulated line."""

    def __init__(self, rate_bytes_per_s, delay_s):
        self.rate = rate_bytes_per_s
        self.delay = delay_s
        self.free_at = 0.0
        self.bytes = 0

    def send(self, now, n):
        """Time at which n bytes handed over at `now` arrive at the other end."""
        start = max(now, self.free_at)
        self.free_at = start + n / self.rate
        self.bytes += n
        return self.free_at + self.delay

    def backlog(self, now):
        return max(0.0, self.free_at - now)


class Proxy:
    def __init__(self, args):
        rate = args.rate_kbit * 1000 / 8
        self.up = Link(rate, args.rtt_ms / 2000)    # client -> server
        self.down = Link(rate, args.rtt_ms / 2000)  # server -> client
        self.queue_s = args.queue_ms / 1000
        self.upstream = ("127.0.0.1", args.upstream)
        self.conns = []
        self.cuts = 0
        self.connections = 0
        self.rng = random.Random(args.seed)
        self.cut_mean = args.cut_mean_s
        self.stats_path = args.stats

    def stats(self):
        return {"bytes_up": self.up.bytes, "bytes_down": self.down.bytes, "cuts": self.cuts,
                "connections": self.connections}

    def write_stats(self):
        if self.stats_path:
            with open(self.stats_path + ".tmp", "w") as f:
                json.dump(self.stats(), f)
            os.replace(self.stats_path + ".tmp", self.stats_path)

    async def pipe(self, link, reader, writer, conn):
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()

        async def deliver():
            while True:
                at, data = await queue.get()
                wait = at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        task = asyncio.create_task(deliver())
        try:
            while True:
                backlog = link.backlog(loop.time())
                if backlog > self.queue_s:
                    await asyncio.sleep(backlog - self.queue_s)
                data = await reader.read(2048)
                now = loop.time()
                if not data:
                    queue.put_nowait((max(now, link.free_at) + link.delay, None))
                    break
                queue.put_nowait((link.send(now, len(data)), data))
            await task
        except (ConnectionError, OSError, asyncio.CancelledError):
            task.cancel()
        finally:
            conn["done"] += 1
            if conn["done"] == 2:
                self.close(conn, abort=False)

    def close(self, conn, abort):
        for w in (conn["cw"], conn["uw"]):
            if w is None:
                continue
            sock = w.get_extra_info("socket")
            if abort and sock is not None:
                try:  # RST, as a dropped line looks to both ends after their timeouts
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            w.transport.abort() if abort else w.close()
        for t in conn["tasks"]:
            t.cancel()
        if conn in self.conns:
            self.conns.remove(conn)

    async def handle(self, cr, cw):
        self.connections += 1
        conn = {"cw": cw, "uw": None, "tasks": [], "done": 0}
        self.conns.append(conn)
        loop = asyncio.get_running_loop()
        try:
            # The TCP handshake to the far end crosses the link too: one round trip.
            await asyncio.sleep(self.up.delay + self.down.delay)
            ur, uw = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.close(conn, abort=True)
            return
        conn["uw"] = uw
        conn["tasks"] = [loop.create_task(self.pipe(self.up, cr, uw, conn)),
                         loop.create_task(self.pipe(self.down, ur, cw, conn))]

    async def cutter(self):
        while True:
            await asyncio.sleep(self.rng.expovariate(1 / self.cut_mean))
            if self.conns:
                self.cuts += 1
            for conn in list(self.conns):
                self.close(conn, abort=True)

    async def run(self, port):
        server = await asyncio.start_server(self.handle, "127.0.0.1", port)
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        loop.add_signal_handler(signal.SIGUSR1, self.write_stats)
        loop.add_signal_handler(signal.SIGTERM, done.set)
        loop.add_signal_handler(signal.SIGINT, done.set)
        if self.cut_mean > 0:
            loop.create_task(self.cutter())
        print("listening %d" % server.sockets[0].getsockname()[1], flush=True)
        await done.wait()
        self.write_stats()
        server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", type=int, required=True, help="port on 127.0.0.1 to forward to")
    ap.add_argument("--listen", type=int, default=0, help="port to listen on (0: any; printed)")
    ap.add_argument("--rate-kbit", type=float, default=256)
    ap.add_argument("--rtt-ms", type=float, default=300)
    ap.add_argument("--queue-ms", type=float, default=250, help="router buffer, in link time")
    ap.add_argument("--cut-mean-s", type=float, default=60, help="mean time between cuts; 0: never")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stats", help="JSON file for the counters (on SIGTERM or SIGUSR1)")
    args = ap.parse_args()
    asyncio.run(Proxy(args).run(args.listen))


if __name__ == "__main__":
    sys.exit(main())
