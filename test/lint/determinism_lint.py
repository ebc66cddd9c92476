#!/usr/bin/env python3
"""Determinism lint for consensus code (src/app and src/x). See doc/determinism.md.

Fails (exit 1) on floating point, the wall clock, unseeded randomness, threads and unordered
containers. Comments and string literals are ignored. A line may opt out with
`// lint:allow(<rule>) <reason>`.
Usage: determinism_lint.py <src-dir> [more dirs or files...]
"""
import os
import re
import sys

RULES = {
    "float": [r"\bfloat\b", r"\bdouble\b", r"\blong\s+double\b",
              r"(?<![\w.])\d+\.\d*(?:[eE][+-]?\d+)?[fFlL]?\b", r"(?<![\w.])\d+[eE][+-]?\d+\b",
              r"(?<![\w.])\.\d+\b", r"\bstd::(sqrt|pow|exp|log|sin|cos|floor|ceil|round|fabs)\b", r"#\s*include\s*<cmath>"],
    "clock": [r"\bsystem_clock\b", r"\bsteady_clock\b", r"\bhigh_resolution_clock\b", r"(?<![\w:.])time\s*\(",
              r"\bstd::time\b", r"\bgettimeofday\b", r"\bclock_gettime\b", r"\blocaltime\b", r"\bgmtime\b",
              r"#\s*include\s*<ctime>"],
    "random": [r"(?<![\w:.])s?rand\s*\(", r"\brandom_device\b", r"\bmt19937(_64)?\b", r"\brandombytes\w*",
               r"\bdefault_random_engine\b", r"#\s*include\s*<random>"],
    "thread": [r"\bstd::thread\b", r"\bstd::jthread\b", r"\bstd::async\b", r"\bpthread_\w+",
               r"#\s*include\s*<(thread|future)>"],
    "unordered": [r"\bunordered_(map|set|multimap|multiset)\b"],
}
COMPILED = {rule: [re.compile(p) for p in pats] for rule, pats in RULES.items()}
ALLOW = re.compile(r"//\s*lint:allow\((\w+)\)")


def strip_code(text):
    """Blank out comments and string/char literals, keeping line structure."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i)
                end = n if end < 0 else end + len(m.group(1)) + 2
                out.append("".join("\n" if ch == "\n" else " " for ch in text[i:end]))
                i = end
            else:
                out.append(c)
                i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def lint_file(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        raw = f.read()
    code_lines = strip_code(raw).split("\n")
    raw_lines = raw.split("\n")
    problems = []
    for no, line in enumerate(code_lines, 1):
        allowed = set(ALLOW.findall(raw_lines[no - 1])) if no - 1 < len(raw_lines) else set()
        for rule, pats in COMPILED.items():
            if rule in allowed:
                continue
            for p in pats:
                if p.search(line):
                    problems.append(f"{path}:{no}: {rule}: {raw_lines[no - 1].strip()}")
                    break
    return problems


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    targets = []
    for arg in argv[1:]:
        if os.path.isfile(arg):
            targets.append(arg)
            continue
        roots = [os.path.join(arg, "app"), os.path.join(arg, "x")] if os.path.isdir(os.path.join(arg, "app")) else [arg]
        for root in roots:
            for dirpath, _, files in os.walk(root):
                targets += [os.path.join(dirpath, f) for f in sorted(files) if f.endswith((".h", ".hpp", ".cpp", ".cc"))]
    if not targets:
        print("determinism lint: no files found")
        return 1
    problems = [p for t in sorted(targets) for p in lint_file(t)]
    for p in problems:
        print(p)
    print(f"determinism lint: {len(targets)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
