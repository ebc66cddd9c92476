#!/usr/bin/env python3
"""Self-test for determinism_lint.py: each rule catches its violations, clean code passes."""
import os
import subprocess
import sys
import tempfile

LINT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "determinism_lint.py")

BAD = {
    "float": ["double x = 1;", "float f;", "auto r = 1.5;", "auto e = 1e9;", "#include <cmath>"],
    "clock": ["auto t = std::chrono::system_clock::now();", "auto s = steady_clock::now();", "long t = time(nullptr);"],
    "random": ["int r = rand();", "std::random_device rd;", "std::mt19937 g(1);", "randombytes_buf(b, 4);"],
    "thread": ["std::thread t([]{});", "#include <thread>", "auto f = std::async([]{ return 1; });"],
    "unordered": ["std::unordered_map<int, int> m;", "std::unordered_set<int> s;"],
}
CLEAN = """
// a double in a comment, std::thread in a comment, rand() too
#include <map>
const char* s = "1.5 double unordered_map time(";
int f(int a) { return a * 2 + 10; }  // int math only
std::map<int, int> ordered;
int version = 3;  // not 3.0
double allowed = 0;  // lint:allow(float) test escape
"""


def run(src):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.cpp")
        with open(p, "w") as f:
            f.write(src)
        r = subprocess.run([sys.executable, LINT, p], capture_output=True, text=True)
        return r.returncode, r.stdout


def main():
    failures = 0
    for rule, lines in BAD.items():
        for line in lines:
            rc, out = run(line + "\n")
            if rc != 1 or f": {rule}:" not in out:
                print(f"FAIL: '{line}' not caught as {rule}: rc={rc} out={out!r}")
                failures += 1
    rc, out = run(CLEAN)
    if rc != 0:
        print(f"FAIL: clean file flagged: {out}")
        failures += 1
    total = sum(len(v) for v in BAD.values()) + 1
    print(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
