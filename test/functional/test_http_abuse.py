#!/usr/bin/env python3
"""Functional test: the HTTP servers hold under abuse (src/http, doc/api.md, doc/provider-operations.md).

A real devnet and a real `depai provider run` daemon. Against each of the node's API and the
provider's endpoint, in turn:
  - 500 half-open connections from 20 loopback addresses (127.0.0.10..29, 25 each, below the
    per-address cap): each sends half a request header and then nothing; whenever the server closes
    one, another takes its place, so 500 stay open (the provider's table holds 256: it evicts);
  - slow-body clients: a declared Content-Length, one byte every 0.5 s;
  - meanwhile, from 127.0.0.1, `GET /status` (API) or `GET /health` (provider) every ~0.1 s for
    15 s: every one must answer 200, each within 1 s;
then: the half-open connections are closed by the server (header timeout, no answer), the slow
bodies got 408, and one client address cannot hold more than the per-address cap.
"""
import argparse
import http.client
import os
import resource
import select
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depai_harness import Depai  # noqa: E402
from test_market import Provider  # noqa: E402

HALF_OPEN = 500
ABUSE_ADDRS = [f"127.0.0.{i}" for i in range(10, 30)]
SLOW_BODIES = 20
WINDOW_S = 15
MAX_LATENCY_S = 1.0
HEADER_TIMEOUT_S = 10  # http::Limits::header_timeout_ms of both servers


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connect_from(src, port, timeout=5):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed_by_server(s):
    """Non-blocking: the bytes the server sent and whether it closed the connection."""
    got = b""
    s.setblocking(False)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return got, True
            got += b
    except (BlockingIOError, InterruptedError):
        return got, False
    except OSError:
        return got, True


class Abuser:
    """Keeps HALF_OPEN half-open connections and SLOW_BODIES trickling bodies against one server."""

    def __init__(self, port, slow_path):
        self.port, self.slow_path = port, slow_path
        self.stop = threading.Event()
        self.half = {}  # socket -> opened at
        self.slow = {}  # socket -> [opened at, bytes sent]
        self.closed_half = []  # (seconds it stayed open, first bytes of the server's answer)
        self.slow_408 = 0
        self.slow_closed = 0
        self.refused = 0
        self.next_addr = 0
        self.opened = 0
        self.maintain = True

    def open_half(self):
        src = ABUSE_ADDRS[self.next_addr % len(ABUSE_ADDRS)]
        self.next_addr += 1
        try:
            s = connect_from(src, self.port)
            s.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: half-open\r\nX-Pad: aaaa")
            self.half[s] = time.time()
            self.opened += 1
        except OSError:
            self.refused += 1

    def open_slow(self):
        try:
            s = connect_from("127.0.0.30", self.port)
            s.sendall(f"POST {self.slow_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      f"Content-Length: 1000\r\n\r\n".encode())
            self.slow[s] = [time.time(), 0]
        except OSError:
            self.refused += 1

    def reap(self):
        socks = list(self.half) + list(self.slow)
        if not socks:
            return
        poller = select.poll()  # not select(): descriptors may be above FD_SETSIZE
        byfd = {}
        for s in socks:
            byfd[s.fileno()] = s
            poller.register(s, select.POLLIN | select.POLLERR | select.POLLHUP)
        readable = [byfd[fd] for fd, _ in poller.poll(0)]
        now = time.time()
        for s in readable:
            got, closed = closed_by_server(s)
            if s in self.half:
                if closed:
                    self.closed_half.append((now - self.half.pop(s), got[:12]))
                    s.close()
            elif s in self.slow:
                if closed:
                    self.slow.pop(s)
                    self.slow_closed += 1
                    self.slow_408 += got.startswith(b"HTTP/1.1 408")
                    s.close()

    def run(self):
        last_trickle = 0.0
        while not self.stop.is_set():
            self.reap()
            if self.maintain:
                for _ in range(min(50, HALF_OPEN - len(self.half))):
                    self.open_half()
                while len(self.slow) < SLOW_BODIES:
                    self.open_slow()
            if time.time() - last_trickle >= 0.5:
                last_trickle = time.time()
                for s, st in list(self.slow.items()):
                    try:
                        s.setblocking(True)
                        s.settimeout(1)
                        s.send(b" ")
                        st[1] += 1
                    except OSError:
                        self.slow.pop(s)
                        self.slow_closed += 1
                        s.close()
            time.sleep(0.05)

    def close_all(self):
        for s in list(self.half) + list(self.slow):
            s.close()
        self.half.clear()
        self.slow.clear()


def timed_get(port, path):
    t0 = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=("127.0.0.1", 0))
    try:
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        return r.status, time.time() - t0
    finally:
        c.close()


def abuse(name, port, normal_path, slow_path, per_client_cap):
    ab = Abuser(port, slow_path)
    th = threading.Thread(target=ab.run, daemon=True)
    th.start()
    # Let the abusers fill up before measuring.
    deadline = time.time() + 20
    while ab.opened < HALF_OPEN and time.time() < deadline:
        time.sleep(0.1)
    assert ab.opened >= HALF_OPEN, f"{name}: only {ab.opened} half-open connections opened"
    print(f"ok: {name}: {ab.opened} half-open connections opened ({len(ab.half)} open now) + {len(ab.slow)} slow bodies")
    lat, failures = [], []
    t_end = time.time() + WINDOW_S
    while time.time() < t_end:
        try:
            status, dt = timed_get(port, normal_path)
            lat.append(dt)
            if status != 200:
                failures.append(f"HTTP {status}")
        except OSError as e:
            failures.append(repr(e))
        time.sleep(0.1)
    open_now = len(ab.half)
    assert not failures, f"{name}: {len(failures)} of {len(lat) + len(failures)} requests failed: {failures[:5]}"
    lat.sort()
    print(f"ok: {name}: {len(lat)} GET {normal_path} during the abuse, all 200; latency p50 "
          f"{lat[len(lat) // 2] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms; {open_now} half-open still held")
    assert lat[-1] <= MAX_LATENCY_S, f"{name}: a request took {lat[-1]:.2f}s (limit {MAX_LATENCY_S}s)"
    # Stop replacing them: every half-open connection must be closed by the server.
    ab.maintain = False
    deadline = time.time() + HEADER_TIMEOUT_S + 15
    while (ab.half or ab.slow) and time.time() < deadline:
        time.sleep(0.2)
    ab.stop.set()
    th.join(timeout=10)
    left_half, left_slow = len(ab.half), len(ab.slow)
    ab.close_all()
    assert left_half == 0, f"{name}: {left_half} half-open connections still open {HEADER_TIMEOUT_S + 15}s later"
    assert left_slow == 0, f"{name}: {left_slow} slow-body connections still open"
    timed_out = [t for t, got in ab.closed_half if t >= HEADER_TIMEOUT_S - 1]
    answered = [got for _, got in ab.closed_half if got]
    longest = max(t for t, _ in ab.closed_half)
    assert timed_out, f"{name}: no half-open connection was closed at the header deadline"
    assert not answered, f"{name}: half-open connections got an answer: {answered[:3]}"
    assert longest <= HEADER_TIMEOUT_S + 5, f"{name}: a half-open connection stayed {longest:.1f}s"
    assert ab.slow_408 > 0, f"{name}: no slow-body client got 408"
    print(f"ok: {name}: {len(ab.closed_half)} half-open connections closed by the server ({len(timed_out)} at the "
          f"header deadline, none answered; the longest after {longest:.1f}s); {ab.slow_closed} slow bodies cut off ({ab.slow_408} with 408)")

    # One address cannot hold more than the cap: the extra connections are closed at once.
    extra = 20
    socks = [connect_from("127.0.0.99", port) for _ in range(per_client_cap + extra)]
    # Wait (10 s at most: a loaded machine accepts slowly) until the server has closed the extra
    # ones, then once more after half a second: the count must be settled, not caught mid-way.
    shut = set()

    def count_closed():
        for i, s in enumerate(socks):
            if i not in shut and closed_by_server(s)[1]:
                shut.add(i)
        return len(shut)

    deadline = time.time() + 10
    while count_closed() < extra and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    closed = count_closed()
    held = len(socks) - closed
    for s in socks:
        s.close()
    assert held <= per_client_cap, f"{name}: one address holds {held} connections (cap {per_client_cap})"
    assert held >= per_client_cap - 2, f"{name}: only {held} connections held (cap {per_client_cap})"
    status, dt = timed_get(port, normal_path)
    assert status == 200
    print(f"ok: {name}: one address held {held} of {len(socks)} connections (cap {per_client_cap}); "
          f"{closed} closed at once; the server still answers ({dt * 1000:.1f} ms)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    print(f"ok: RLIMIT_NOFILE soft limit {raise_nofile()}")
    root = tempfile.mkdtemp(prefix="depai-abuse-")
    d = Depai(args.depai, os.path.join(root, "chain"))
    os.makedirs(d.home)
    p = None
    ok = False
    try:
        d.cli_json("devnet", "init", "--accounts", "3")
        d.start(block_time="200ms")
        p = Provider(d, "p-abuse", "bob", 100, {"tier": "gold"}, root)
        p.start()
        print(f"ok: devnet on {d.port}, provider on {p.port}")
        abuse("api", d.port, "/status", "/txs", 64)
        assert d.proc.poll() is None, "the devnet died"
        abuse("provider", p.port, "/health", "/v1/leases/1/manifest", 32)
        assert p.proc.poll() is None, "the provider died"
        # The node is still producing blocks and serving.
        h = int(d.get("/status")["latest_block_height"])
        d.wait_height(h + 2)
        ok = True
        print("ok: test_http_abuse passed")
        return 0
    finally:
        if p:
            p.stop()
            p.kill_workloads()
        d.stop()
        if not ok:
            print("--- devnet log ---\n" + d.log())
            if p:
                print("--- provider log ---\n" + p.log())
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
