#!/usr/bin/env python3
"""Layering lint: every `#include "..."` under src/ must follow the layer graph. See doc/architecture.md.

The layer graph is read from the top-level CMakeLists.txt, so the lint and the link graph cannot
disagree: each `depai_layer(<target> <dir> <deps...>)` line makes `src/<dir>` a layer whose files may
include their own layer and every project target its deps reach, transitively (external libraries
such as fmt::fmt are ignored). `add_library(<target> ...)` names further project targets (the
generated protobuf libraries, whose headers are found by GENERATED below); `add_executable(<name>
src/<file>...)` with `target_link_libraries(<name> ... <deps>)` puts those files in a layer of their own.
An `add_library(<target> STATIC src/<file>...)` that names its sources (headers included) makes those
files a layer of their own, even inside another layer's directory: so src/proof holds depai_proof
(which src/x may use) and depai_prover (threads, CUDA; src/x may not). A file's own entry wins over
its directory's layer, for the file itself and for the files that include it.

Rules (exit 1 when any is broken):
  upward        a file includes a layer its target does not link (a layer above it, or a sibling)
  cross-module  a file under src/x/<m>/ includes src/x/<n>/ for n != m; modules may include
                x/types, their own files and lower layers only, and meet through their
                expected_keepers.h interfaces, implemented by adapters in src/app. x/types may
                include no module.
  unknown       an include that resolves to no layer, no generated header and no file beside it
  no-layer      a file under src/ that belongs to no layer and no executable
Usage: layering_lint.py <repo-root>   (reads <repo-root>/CMakeLists.txt and <repo-root>/src)
"""
import os
import re
import sys

# Headers generated at build time (not under src/): include prefix -> the CMake target that owns them.
GENERATED = {
    "depai/": "depai_proto",        # proto/depai/**/*.proto, protoc into build/*/gen
    "tendermint/": "depai_cmtproto",  # CometBFT ABCI protos from the Go module cache
    "gogoproto/": "depai_cmtproto",
}
# Layers whose directory holds modules, and the shared part every module may use.
MODULE_LAYERS = {"x": "types"}
SOURCE_EXT = (".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def cmake_commands(text, name):
    """Yield the argument lists of every `name(...)` call in CMake text (comments stripped)."""
    text = re.sub(r"#[^\n]*", "", text)
    for m in re.finditer(r"\b" + name + r"\s*\(", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield text[m.end():i - 1].split()


def read_graph(cmake_path):
    """Returns (layers: dir -> target, deps: target -> set of project targets,
    files: path under src/ -> target, for add_executable and add_library sources named one by one)."""
    with open(cmake_path, encoding="utf-8") as f:
        text = f.read()
    layers, raw_deps = {}, {}
    for args in cmake_commands(text, "depai_layer"):
        if len(args) < 2 or args[0].startswith("$"):  # the function's own definition
            continue
        target, d = args[0], args[1].strip("/")
        layers[d] = target
        raw_deps[target] = args[2:]
    exe_files = {}
    for args in cmake_commands(text, "add_library"):
        if args and not args[0].startswith("$"):
            raw_deps.setdefault(args[0], [])
            for src in args[1:]:
                if src.startswith("${CMAKE_SOURCE_DIR}/"):
                    src = src[len("${CMAKE_SOURCE_DIR}/"):]
                if src.startswith("src/"):
                    exe_files[src[len("src/"):]] = args[0]
    for args in cmake_commands(text, "add_executable"):
        for src in args[1:]:
            if src.startswith("src/"):
                exe_files[src[len("src/"):]] = args[0]
                raw_deps.setdefault(args[0], [])
    for args in cmake_commands(text, "target_link_libraries"):
        if args and args[0] in raw_deps:
            raw_deps[args[0]] += [a for a in args[1:] if a not in ("PUBLIC", "PRIVATE", "INTERFACE")]
    deps = {t: {d for d in ds if d in raw_deps} for t, ds in raw_deps.items()}
    return layers, deps, exe_files


def closure(deps):
    """target -> every project target it links, transitively (itself included)."""
    out = {}
    for t in deps:
        seen, todo = {t}, [t]
        while todo:
            for d in deps.get(todo.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        out[t] = seen
    return out


def layer_of(rel, layers):
    """The layer dir owning a path relative to src/ (longest matching dir), or None."""
    best = None
    for d in layers:
        if (rel == d or rel.startswith(d + "/")) and (best is None or len(d) > len(best)):
            best = d
    return best


def module_of(rel, layer_dir):
    """For a path in a module layer: the module name (first dir below the layer), or None."""
    parts = rel[len(layer_dir) + 1:].split("/")
    return parts[0] if len(parts) > 1 else None


def lint(root):
    src = os.path.join(root, "src")
    layers, deps, exe_files = read_graph(os.path.join(root, "CMakeLists.txt"))
    reach = closure(deps)
    target_dir = {t: d for d, t in layers.items()}
    problems, nfiles = [], 0
    for dirpath, _, files in os.walk(src):
        for fname in sorted(files):
            if not fname.endswith(SOURCE_EXT):
                continue
            path = os.path.join(dirpath, fname)
            rel = os.path.relpath(path, src).replace(os.sep, "/")
            nfiles += 1
            own_dir = None if rel in exe_files else layer_of(rel, layers)
            own = exe_files.get(rel) or layers.get(own_dir)
            if own is None:
                problems.append(f"src/{rel}:1: no-layer: not under any depai_layer directory nor an add_executable source")
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().split("\n")
            for no, line in enumerate(lines, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                inc = m.group(1)
                where = f"src/{rel}:{no}"
                beside = os.path.normpath(os.path.join(os.path.dirname(rel), inc)).replace(os.sep, "/")
                file_target = exe_files.get(inc) or (exe_files.get(beside) if os.path.isfile(os.path.join(src, beside)) else None)
                if file_target is not None:
                    if file_target not in reach[own]:
                        problems.append(f'{where}: upward: {own} includes "{inc}" of {file_target}, which it does not link')
                    continue
                inc_dir = layer_of(inc, layers)
                if inc_dir is None:
                    gen = next((t for p, t in GENERATED.items() if inc.startswith(p)), None)
                    if gen is not None:
                        if gen not in reach[own]:
                            problems.append(f'{where}: upward: "{inc}" is generated into {gen}, which {own} does not link')
                        continue
                    beside = os.path.normpath(os.path.join(os.path.dirname(rel), inc)).replace(os.sep, "/")
                    if os.path.isfile(os.path.join(src, beside)):
                        inc_dir = layer_of(beside, layers)
                        inc = beside
                    if inc_dir is None:
                        problems.append(f'{where}: unknown: "{m.group(1)}" is in no layer (include paths start at src/)')
                        continue
                inc_target = layers[inc_dir]
                if inc_target not in reach[own]:
                    allowed = sorted(target_dir[t] for t in reach[own] if t in target_dir)
                    problems.append(f'{where}: upward: {own} includes "{inc}" of {inc_target}, which it does not '
                                    f'link; it may include: {", ".join(allowed)}')
                    continue
                if inc_dir == own_dir and own_dir in MODULE_LAYERS:
                    shared = MODULE_LAYERS[own_dir]
                    mine, theirs = module_of(rel, own_dir), module_of(inc, own_dir)
                    if theirs is not None and theirs != shared and theirs != mine:
                        fix = (f"{shared} is below every module" if mine == shared else
                               f"declare what it needs in {own_dir}/{mine}/expected_keepers.h and adapt it in src/app")
                        problems.append(f'{where}: cross-module: {own_dir}/{mine} includes "{inc}" of module '
                                        f'{own_dir}/{theirs}; {fix}')
    return nfiles, layers, problems


def main(argv):
    if len(argv) != 2 or not os.path.isfile(os.path.join(argv[1], "CMakeLists.txt")):
        print(__doc__)
        return 2
    nfiles, layers, problems = lint(argv[1])
    if not layers:
        print("layering lint: no depai_layer(...) lines in CMakeLists.txt")
        return 1
    for p in problems:
        print(p)
    print(f"layering lint: {nfiles} files, {len(layers)} layers, {len(problems)} problems")
    return 1 if problems or nfiles == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
