#!/usr/bin/env python3
"""A buyer's workload that fork-bombs for 3 s, then allocates past its memory (test_sandbox.py)."""
import os
import time

if os.fork() == 0:  # the bomb: every process forks for as long as it can
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)
time.sleep(2.5)
peak = len([p for p in os.listdir("/proc") if p.isdigit()])
print(f"peak {peak} processes during the bomb", flush=True)
os.kill(-1, 9)  # every other process of this uid
time.sleep(0.5)
try:
    while True:
        os.waitpid(-1, 0)
except ChildProcessError:
    pass
try:
    b = bytearray(1536 * 1024 * 1024)
    print("ALLOCATED", len(b), flush=True)
except MemoryError:
    print("ALLOC-FAILED MemoryError", flush=True)
