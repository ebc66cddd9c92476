#!/usr/bin/env python3
"""Self-test for layering_lint.py: small fixture trees (a CMakeLists.txt with depai_layer lines and a
src/ tree) show it passes a clean tree and catches cross-module, upward, sibling, generated-header,
unknown and layer-less includes."""
import os
import subprocess
import sys
import tempfile

LINT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layering_lint.py")

CMAKE = """
function(depai_layer name dir)
  add_library(${name} STATIC ${srcs})
  target_link_libraries(${name} PUBLIC ${ARGN})
endfunction()
add_library(depai_proto STATIC ${PROTO_SRCS})
add_library(depai_cmtproto STATIC ${CMT_SRCS})
depai_layer(depai_util util fmt::fmt)
depai_layer(depai_store store depai_util RocksDB::rocksdb)   # a comment (with parentheses)
add_library(depai_proof STATIC src/proof/compute.cpp src/proof/compute.h)
target_link_libraries(depai_proof PUBLIC depai_util)
add_library(depai_prover STATIC ${CMAKE_SOURCE_DIR}/src/proof/prover.cpp src/proof/prover.h)
target_link_libraries(depai_prover PUBLIC depai_proof Threads::Threads)
depai_layer(depai_x x depai_store depai_proof depai_proto)
depai_layer(depai_app app depai_x)
depai_layer(depai_abci abci depai_app depai_cmtproto)
depai_layer(depai_client client depai_app)
depai_layer(depai_http http depai_util
            Boost::system)
depai_layer(depai_cli cli depai_abci depai_client depai_http depai_prover)
add_executable(depai src/main.cpp)
target_link_libraries(depai PRIVATE depai_cli)
"""

CLEAN = {
    "src/util/bytes.h": "#pragma once\n#include <string>\n",
    "src/store/kv.h": '#include "util/bytes.h"\n',
    "src/x/types/module.h": '#include "store/kv.h"\n#include "depai/tx/v1/tx.pb.h"\n',
    "src/x/bank/expected_keepers.h": '#include "store/kv.h"\n',
    "src/x/bank/keeper.h": '#include "x/bank/expected_keepers.h"\n#include "x/types/module.h"\n',
    "src/x/bank/keeper.cpp": '#include "keeper.h"\n',  # beside the file
    "src/x/auth/keeper.h": '#include "x/types/module.h"\n#include "util/bytes.h"\n',
    "src/app/app.cpp": '#include "x/auth/keeper.h"\n#include "x/bank/keeper.h"\n',
    "src/abci/server.cpp": '#include "app/app.h"\n#include "tendermint/abci/types.pb.h"\n',
    "src/client/tx.cpp": '#include "app/app.h"\n#include "util/bytes.h"\n',
    "src/http/server.cpp": '#include "util/bytes.h"\n',
    "src/cli/cli.cpp": '#include "abci/server.h"\n#include "client/tx.h"\n#include "http/server.h"\n'
                       '#include "x/bank/keeper.h"\n#include "store/kv.h"\n',  # transitive: cli reaches x and store
    "src/main.cpp": '#include "cli/cli.h"\n',
    "src/proof/compute.h": '#include "util/bytes.h"\n',  # two file-level layers in one directory
    "src/proof/compute.cpp": '#include "compute.h"\n',
    "src/proof/prover.h": '#include "proof/compute.h"\n',
    "src/proof/prover.cpp": '#include "prover.h"\n',
    "src/x/bank/verify.cpp": '#include "proof/compute.h"\n',
    "src/cli/prove.cpp": '#include "proof/prover.h"\n',
    "src/app/notes.txt": '#include "cli/cli.h"\n',  # not a source file
    "src/store/kv.cpp": '// #include "app/app.h" in a comment\n  # include <vector>\n',
}

# (name, file, its text, the rule the lint must report)
BAD = [
    ("cross-module", "src/x/bank/keeper.cpp", '#include "x/auth/keeper.h"\n', "cross-module"),
    ("types includes a module", "src/x/types/module.h", '#include "x/bank/keeper.h"\n', "cross-module"),
    ("upward store->app", "src/store/kv.h", '#include "app/app.h"\n', "upward"),
    ("upward x->app", "src/x/bank/keeper.cpp", '  #  include "app/app.h"\n', "upward"),
    ("upward util->x/types", "src/util/bytes.h", '#include "x/types/module.h"\n', "upward"),
    ("sibling client->abci", "src/client/tx.cpp", '#include "abci/server.h"\n', "upward"),
    ("http is not above app", "src/http/server.cpp", '#include "app/app.h"\n', "upward"),
    ("generated not linked", "src/store/kv.h", '#include "depai/tx/v1/tx.pb.h"\n', "upward"),
    ("cmtproto not linked", "src/client/tx.cpp", '#include "tendermint/abci/types.pb.h"\n', "upward"),
    ("include in no layer", "src/main.cpp", '#include "nowhere/x.h"\n', "unknown"),
    ("file in no layer", "src/tools/gen.cpp", '#include "util/bytes.h"\n', "no-layer"),
    ("x includes the prover", "src/x/bank/verify.cpp", '#include "proof/prover.h"\n', "upward"),
    ("proof includes its prover", "src/proof/compute.cpp", '#include "prover.h"\n', "upward"),
    ("file not in the lib's list", "src/proof/extra.cpp", '#include "proof/compute.h"\n', "no-layer"),
]


def run(files):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
            f.write(CMAKE)
        for rel, text in files.items():
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        r = subprocess.run([sys.executable, LINT, d], capture_output=True, text=True)
        return r.returncode, r.stdout


def main():
    failures = 0
    rc, out = run(CLEAN)
    if rc != 0 or "0 problems" not in out:
        print(f"FAIL: clean tree flagged: rc={rc} out={out}")
        failures += 1
    for name, rel, text, rule in BAD:
        files = dict(CLEAN)
        files[rel] = text
        rc, out = run(files)
        problems = [line for line in out.splitlines() if ": " in line and not line.startswith("layering lint:")]
        if rc != 1 or len(problems) != 1 or f"{rel}:" not in problems[0] or f": {rule}:" not in problems[0]:
            print(f"FAIL: {name}: expected one '{rule}' problem in {rel}: rc={rc} out={out!r}")
            failures += 1
    # no depai_layer lines at all: the lint must not pass vacuously
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "CMakeLists.txt"), "w").close()
        r = subprocess.run([sys.executable, LINT, d], capture_output=True, text=True)
        if r.returncode == 0:
            print(f"FAIL: a CMakeLists.txt without depai_layer lines passed: {r.stdout!r}")
            failures += 1
    total = len(BAD) + 2
    print(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
