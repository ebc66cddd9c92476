#!/usr/bin/env python3
"""Functional test: the node's HTTP API is exactly what doc/openapi.yaml says.

A devnet gets real state (transfers between accounts, a key that never received anything), then
schemathesis (pinned by scripts/install-deps.sh) runs every phase against it with `--checks all`:
schema-valid requests must be accepted, schema-violating ones rejected with a declared 4xx, every
answer must match its declared status, content type and schema, and an undeclared method must be
405 with an Allow header. POST /txs is tested too (random bodies must be declared 4xx errors);
test/functional/openapi/schemathesis.toml is the schemathesis config and says why each setting is
there; this test adds dictionaries of the devnet's real addresses and tx hashes to it, so that
schema-valid requests also hit existing accounts and txs (a bech32 checksum is beyond a pattern).
Fails on any finding and prints schemathesis' report. Seeded: a failure reproduces with the same
--seed (and `st replay` of the case it names)."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depai_harness import Depai  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SPEC = os.path.join(ROOT, "doc", "openapi.yaml")
CONFIG = os.path.join(HERE, "openapi", "schemathesis.toml")


def find_schemathesis():
    for c in [os.environ.get("DEPAI_SCHEMATHESIS"), os.path.join(ROOT, ".venv-test", "bin", "schemathesis"),
              shutil.which("schemathesis")]:
        if c and os.access(c, os.X_OK):
            return c
    raise AssertionError("schemathesis not found: run `bash scripts/install-deps.sh` (it installs the pinned "
                         "version into .venv-test/), or set DEPAI_SCHEMATHESIS")


def dictionaries(addresses, hashes, dids):
    """TOML: the devnet's real addresses, tx hashes and DIDs, drawn for half of the schema-valid values."""
    def values(xs):
        return "[" + ", ".join(f'"{x}"' for x in xs) + "]"
    return (f"\n# Added by test_openapi.py for this devnet.\n"
            f"[dictionaries.addresses]\nvalues = {values(addresses)}\n"
            f"[dictionaries.tx_hashes]\nvalues = {values(hashes + [h.lower() for h in hashes])}\n"
            f"[dictionaries.dids]\nvalues = {values(dids)}\n"
            f'[parameters]\n"path.address" = {{ dictionary = "addresses", probability = 1.0 }}\n'
            f'"path.hash" = {{ dictionary = "tx_hashes", probability = 0.5 }}\n'
            f'"path.did" = {{ dictionary = "dids", probability = 0.5 }}\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("DEPAI_OPENAPI_SEED", "20261201")))
    ap.add_argument("--max-examples", type=int, default=int(os.environ.get("DEPAI_OPENAPI_MAX_EXAMPLES", "300")))
    args = ap.parse_args()
    st = find_schemathesis()
    home = tempfile.mkdtemp(prefix="depai-openapi-")
    d = Depai(args.depai, home)
    try:
        d.cli_json("devnet", "init", "--accounts", "4")
        # Short reward epochs, so that /economy/epochs/{epoch} has ended epochs to find.
        gpath = os.path.join(home, "config", "genesis.json")
        with open(gpath) as f:
            g = json.load(f)
        g["app_state"]["rewards"] = {"params": {"epoch_blocks": "2"}}
        with open(gpath, "w") as f:
            json.dump(g, f, indent=1)
        keys = {k["name"]: k["address"] for k in d.cli_json("keys", "list")}
        fresh = d.cli_json("keys", "add", "fresh")["address"]  # never funded: 404 account, empty balances
        d.start()

        # Real state, so account, balance, block, tx and event lookups have something to find.
        hashes = []
        for frm, to, amount in [("alice", "bob", "1000udpai"), ("bob", "carol", "250udpai"),
                                ("carol", "dave", "10udpai"), ("alice", "dave", "7udpai")]:
            out = d.cli_json("tx", "bank", "send", frm, keys[to], amount, "--fees", "10udpai", "--yes")
            assert out["code"] == 0, out
            hashes.append(out["hash"])
        for h in hashes:
            assert d.get("/txs/" + h)["code"] == 0
        # A DID (alice's key as its initial key), so /1.0/identifiers/{did} resolves one.
        r = d.cli("tx", "identity", "create-did", "--key", "alice", "--from", "alice", "--yes", json_out=False)
        dids = [ln[5:].strip() for ln in r.stdout.splitlines() if ln.startswith("did: ")]
        assert dids and d.request("GET", "/1.0/identifiers/" + dids[0])[0] == 200, r.stdout + r.stderr
        print(f"ok: devnet with {len(hashes)} transfers at height {d.get('/status')['latest_block_height']}")

        work = tempfile.mkdtemp(prefix="depai-schemathesis-")  # its reports and caches, not the source tree
        config = os.path.join(work, "schemathesis.toml")
        with open(CONFIG) as f, open(config, "w") as out:
            out.write(f.read())
            out.write(dictionaries([*keys.values(), fresh], hashes, dids))
        cmd = [st, "--config-file", config, "--no-color", "run", SPEC, "--url", d.node, "--checks", "all",
               "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(args.max_examples),
               "--seed", str(args.seed), "--workers", "1", "--generation-database", "none",
               "--request-timeout", "40", "--report", "junit", "--report-dir", work]
        print("$ " + " ".join(cmd), flush=True)
        t0 = time.time()
        r = subprocess.run(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=480)
        print(r.stdout)
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        summary = lines[-1] if lines else "(no output)"
        assert d.proc.poll() is None, "the devnet died under schemathesis:\n" + d.log()
        assert r.returncode == 0, f"schemathesis found problems (exit {r.returncode}): {summary}"
        assert not re.search(r"\b(failures?|errors?|warnings?)\b", summary), f"schemathesis summary: {summary}"
        cases = re.search(r"(\d+) generated, (\d+) passed", r.stdout)
        assert cases and cases.group(1) == cases.group(2), "not every generated case passed"
        print(f"ok: schemathesis, seed {args.seed}, {args.max_examples} examples/operation, "
              f"{time.time() - t0:.0f}s: {summary.strip('= ')}")
        assert d.stop() == 0, "devnet did not exit cleanly after the run:\n" + d.log()
    finally:
        d.stop()
        shutil.rmtree(home, ignore_errors=True)
    print("PASS test_openapi")


if __name__ == "__main__":
    main()
