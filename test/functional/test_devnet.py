#!/usr/bin/env python3
"""Functional test: a user runs a devnet, sends tokens with the CLI, sees balances over the API,
hits every kind of bad input, and survives kill -9 with no committed transaction lost."""
import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depai_harness import Depai  # noqa: E402

FEE = 10


def expect_fail(d, args, needle, addrs):
    before = {a: d.balance(a) for a in addrs}
    r = d.cli(*args, check=False)
    assert r.returncode != 0, f"{args} should fail: {r.stdout}"
    msg = r.stderr + r.stdout
    assert needle in msg, f"{args}: expected '{needle}' in: {msg}"
    time.sleep(0.5)  # a block or two later, nothing moved
    after = {a: d.balance(a) for a in addrs}
    assert before == after, f"{args} changed balances: {before} -> {after}"
    print(f"ok: rejected {args[3:5]} -> {msg.strip().splitlines()[-1][:100]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="depai-func-")
    d = Depai(args.depai, home)
    try:
        init = d.cli_json("devnet", "init", "--accounts", "4")
        assert init["chain_id"] == "depai-devnet-1"
        keys = {k["name"]: k["address"] for k in d.cli_json("keys", "list")}
        alice, bob, carol = keys["alice"], keys["bob"], keys["carol"]
        d.start()
        a0, b0 = d.balance(alice), d.balance(bob)
        assert a0 == 1_000_000_000_000, a0

        # A transfer with the CLI, as the README shows it.
        out = d.cli_json("tx", "bank", "send", "alice", bob, "1000udpai", "--fees", "10udpai", "--yes")
        assert out["code"] == 0, out
        h = out["hash"]
        assert d.balance(alice) == a0 - 1000 - FEE
        assert d.balance(bob) == b0 + 1000
        tx = d.cli_json("query", "tx", h)
        assert tx["tx"]["body"]["messages"][0]["to_address"] == bob, tx
        assert d.cli_json("query", "block", tx["height"])["txs"][0]["hash"] == h
        st = d.cli_json("status")
        assert st["chain_id"] == "depai-devnet-1" and int(st["latest_block_height"]) >= int(tx["height"])
        bal = d.cli_json("query", "bank", "balances", "bob")
        assert any(c["denom"] == "udpai" and int(c["amount"]) == b0 + 1000 for c in bal["balances"])
        print("ok: send, query tx/block/status/balances")

        # Generic module queries and the event feed that daemons follow.
        assert d.get("/q/bank/supply") == d.get("/supply")
        ev = d.get("/events?from_height=1&type=transfer")
        mine = [e for e in ev["events"] if e.get("tx_hash") == h and e["attributes"]["recipient"] == bob]
        assert len(mine) == 1 and mine[0]["attributes"]["amount"] == "1000udpai", ev
        assert int(ev["next_height"]) == int(ev["to_height"]) + 1 and all(e["type"] == "transfer" for e in ev["events"])
        assert d.request("GET", "/events?from_height=abc")[0] == 400
        assert d.request("GET", "/q/nosuchmodule/x")[0] == 404
        print("ok: /q module queries and /events")

        # Bad input: a clear error, non-zero exit, nothing changes.
        base = ["tx", "bank", "send", "alice"]
        watch = [alice, bob]
        expect_fail(d, base + ["depai1notanaddress", "5udpai", "--yes"], "invalid", watch)
        expect_fail(d, base + [bob, "abc", "--yes"], "invalid coins", watch)
        expect_fail(d, base + [bob, "99999999999999999999udpai", "--yes"], "overflow", watch)
        expect_fail(d, base + [bob, "5ufoo", "--yes"], "unknown denom", watch)
        expect_fail(d, base + [bob, "5ucredit", "--yes"], "not transferable", watch)
        expect_fail(d, base + [bob, f"{a0 * 10}udpai", "--yes"], "insufficient funds", watch)
        expect_fail(d, base + [bob, "5udpai", "--fees", "1udpai", "--yes"], "insufficient fee", watch)
        expect_fail(d, ["tx", "bank", "send", "mallory", bob, "5udpai", "--yes"], "not found", watch)
        r = d.cli("keys", "show", "mallory", check=False)
        assert r.returncode != 0 and "not found" in r.stderr

        # An encrypted (file backend) key: the right passphrase signs, a wrong one is refused.
        os.environ["DEPAI_KEYRING_PASSPHRASE"] = "correct horse battery"
        vault = d.cli_json("keys", "add", "vault", "--keyring-backend", "file")["address"]
        d.cli_json("tx", "bank", "send", "alice", vault, "50000udpai", "--yes")
        os.environ["DEPAI_KEYRING_PASSPHRASE"] = "wrong horse battery"
        expect_fail(d, ["tx", "bank", "send", "vault", bob, "5udpai", "--keyring-backend", "file", "--yes"],
                    "wrong passphrase", [vault, bob])
        os.environ["DEPAI_KEYRING_PASSPHRASE"] = "correct horse battery"
        out = d.cli_json("tx", "bank", "send", "vault", bob, "5udpai", "--keyring-backend", "file", "--yes")
        assert out["code"] == 0 and d.balance(vault) == 50000 - 5 - FEE
        del os.environ["DEPAI_KEYRING_PASSPHRASE"]
        print("ok: encrypted keyring: wrong passphrase refused, right one signs")

        # Malformed API requests: 4xx JSON errors.
        for raw, code in [(b"{not json", 400), (b'{"tx_bytes": "!!!"}', 400), (b'{"tx_bytes": "AAAA"}', 400),
                          (b'{"mode": "sync"}', 400), (b'{"tx_bytes": "AAAA", "mode": "later"}', 400)]:
            status, body = d.request("POST", "/txs", raw=raw)
            assert status == code and {"code", "codespace", "message"} <= body.keys(), (raw, status, body)
        assert d.request("GET", "/balances/depai1xyz")[0] == 400
        assert d.request("GET", "/txs/" + "0" * 64)[0] == 404
        assert d.request("GET", "/blocks/99999999")[0] == 404
        assert d.request("GET", "/nothing")[0] == 404
        print("ok: malformed API requests get 4xx JSON errors")

        # kill -9 while transactions flow; nothing committed is lost.
        sent, confirmed, stop = [], [], threading.Event()

        def flood():
            while not stop.is_set():
                r = d.cli("tx", "bank", "send", "carol", bob, "7udpai", "--fees", "10udpai", "--yes",
                          "-b", "commit", check=False)
                if r.returncode == 0:
                    confirmed.append(1)
                    sent.append(1)
                elif "cannot reach" in r.stderr or "not committed" in r.stderr or "reset" in r.stderr:
                    sent.append(0)  # in flight when the node died: may or may not have landed
                    return

        c0 = d.balance(carol)
        t = threading.Thread(target=flood)
        t.start()
        deadline = time.time() + 20
        while len(confirmed) < 5 and time.time() < deadline:
            time.sleep(0.1)
        status_before = d.get("/status")
        h_before = int(status_before["latest_block_height"])
        block_before = d.get(f"/blocks/{h_before}")
        d.kill9()
        stop.set()
        t.join(timeout=60)
        assert len(confirmed) >= 5, f"only {len(confirmed)} transfers confirmed before the kill"
        d.start()
        st = d.get("/status")
        assert int(st["latest_block_height"]) >= h_before
        assert d.get(f"/blocks/{h_before}")["app_hash"] == block_before["app_hash"], "app hash at a committed height changed"
        # Every transfer carol made is accounted for: balance = start - 17 * (landed transfers).
        landed = int(d.get(f"/accounts/{carol}")["sequence"])
        assert landed >= len(confirmed), f"sequence {landed} < confirmed {len(confirmed)}: a committed tx was lost"
        assert d.balance(carol) == c0 - 17 * landed, (d.balance(carol), c0, landed)
        print(f"ok: kill -9 after {len(confirmed)} confirmed transfers; restart at height {st['latest_block_height']}")

        # SIGTERM: a clean exit 0, and the chain resumes where it stopped.
        h = int(d.get("/status")["latest_block_height"])
        assert d.stop() == 0, "SIGTERM should exit 0:\n" + d.log()
        d.start()
        assert int(d.get("/status")["latest_block_height"]) >= h
        assert d.stop() == 0
        print("ok: SIGTERM exits 0")
        print("1 passed, 0 failed")
        return 0
    except Exception:
        print("devnet log tail:\n" + d.log())
        raise
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
