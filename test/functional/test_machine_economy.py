#!/usr/bin/env python3
"""Functional test: the machine economy on one devnet, driven through the CLI and the HTTP API.

The wallet. bob owns a robot. He creates an agent wallet for it: a budget per period (fees
included), two counterparties (carol's provider, and alice), cpu and memory only, a price cap,
and a session key "agent" that expires. The agent uses only its session key (`--wallet`). It
deploys a service on carol's real provider daemon: it creates the order, accepts carol's bid
and sends the manifest, which the daemon accepts because it is signed by a live session key of
the lease owner. Then the chain refuses, with the rule and the numbers named and nothing
written:
- going over the budget;
- paying an unlisted counterparty;
- an order over the price cap;
- a gpu order;
- an expired key;
- a revoked key.
In the next period the budget works again.

Identity (me_identity.py): a manufacturer (dave) registers as a bonded attester and attests the
robot's device key; bob's DID for the robot lists the robot's wallet among its accounts. The robot's DID resolves over /1.0/identifiers/{did}. An attestation by an
unregistered key is refused.

The channel (me_channel.py): 10,000 off-chain payments by voucher and by ticket, over a real
WebSocket between two processes. The payee redeems mid-way. The payer tries a stale-voucher
close, and the payee wins within the challenge period. Balances are exact and supply is
unchanged.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depai_harness import Depai  # noqa: E402
from test_verify import Provider  # noqa: E402  (the provider daemon fixture)

PERIOD = 150       # blocks per budget period (30 s at 200 ms)
BUDGET = 30000     # udpai per period


def wait_for(what, fn, timeout=90, interval=0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def event_attr(ans, type_, key):
    for e in ans.get("events", []):
        if e.get("type") == type_:
            for a in e.get("attributes", []):
                if a.get("key") == key:
                    return a.get("value")
    return None


def refused(d, what, args, must):
    """Runs a CLI tx that must be refused with `must` in its error, leaving no trace."""
    w = args[args.index("--wallet") + 1] if "--wallet" in args else None
    before = d.get(f"/q/wallet/wallets/{w}") if w else None
    bal = d.balance(w) if w else None
    r = d.cli(*args, "--yes", check=False)
    out = r.stderr + r.stdout
    assert r.returncode != 0, f"{what}: accepted: {out}"
    assert must in out, f"{what}: expected {must!r} in: {out}"
    if w:
        d.wait_height(int(d.get("/status")["latest_block_height"]) + 1)
        after = d.get(f"/q/wallet/wallets/{w}")
        assert after["current"]["spent"] == before["current"]["spent"] or \
            after["current"]["period"] != before["current"]["period"], (what, before["current"], after["current"])
        assert d.balance(w) == bal, (what, bal, d.balance(w))
    line = next((ln for ln in out.splitlines() if must in ln), out.strip())
    print(f"ok: refused ({what}): {line.strip()[:200]}")


def spec_file(root, name, max_price, gpu=False, auto=False):
    path = os.path.join(root, name)
    gpus = ", gpus: [{vendor: nvidia, model: h100, count: 1, vram_mib: 81920}]" if gpu else ""
    with open(path, "w") as f:
        f.write(f"""version: "1"
services:
  planner:
    runtime: exec
    command: ["sleep", "600"]
    restart: never
resources: {{cpu_millicores: 1000, memory_mib: 256{gpus}}}
count: 1
placement: {{region: eu-west}}
pricing: {{max_price_per_block: {max_price}, deposit: 20000udpai, bid_window: {10 if auto else 50}, auto_select: {str(auto).lower()}}}
""")
    return path


def wallet_part(d, keys, root, procs):
    owner = "bob"
    d.cli_json("keys", "add", "agent")
    d.cli_json("keys", "add", "agent-short")
    d.cli_json("keys", "add", "agent-revoked")
    p = Provider(d, "p-carol", "carol", root)
    p.start()
    procs.append(p)

    ans = d.cli_json("tx", "wallet", "create", "--from", owner, "--budget", f"{BUDGET}udpai", "--period-blocks",
                     str(PERIOD), "--counterparty", p.address, "--counterparty", keys["alice"], "--resource-kind", "cpu",
                     "--resource-kind", "memory", "--max-price", "200udpai", "--deposit", "200000udpai",
                     "--label", "robot-7", "--yes")
    w = event_attr(ans, "wallet.created", "wallet")
    assert w and w.startswith("depai1"), ans
    keys["wallet"] = w
    ans = d.cli_json("tx", "wallet", "add-key", w, "agent", "--from", owner, "--label", "agent", "--expires-in",
                     "2000", "--yes")
    assert ans["code"] == 0, ans
    info = d.get(f"/q/wallet/wallets/{w}")
    assert info["owner"] == keys[owner] and len(info["session_keys"]) == 1, info
    assert d.balance(w) == 200000
    print(f"ok: wallet {w} for bob's robot, budget {BUDGET}udpai/{PERIOD} blocks, session key 'agent'")

    # ---- the agent deploys with only its session key ---------------------------------------------
    spec = spec_file(root, "planner.yaml", "150udpai")
    out = d.cli_json("deploy", "create", spec, "--from", "agent", "--wallet", w, "--yes")
    order = str(out["order_id"])
    o = d.get(f"/q/market/orders/{order}")["order"]
    assert o["owner"] == w, o
    wait_for("carol's bid", lambda: any(b["provider"] == p.address for b in
                                        d.get(f"/q/market/orders/{order}/bids")["bids"]))
    d.cli_json("tx", "market", "create-lease", "agent", order, p.address, "--wallet", w, "--yes")
    lease = wait_for("the lease", lambda: d.get(f"/q/market/orders/{order}")["order"].get("lease_id"))
    sent = d.cli_json("deploy", "send-manifest", order, spec, "--from", "agent", "--wallet", w, "--yes")
    assert "started" in json.dumps(sent) or "received" in json.dumps(sent), sent
    st = wait_for("the service running", lambda: (lambda s: s if "running" in json.dumps(s) else None)(
        d.cli_json("deploy", "status", order, "--from", "agent", "--wallet", w)), timeout=60)
    # The escrow deposit and three fees (create-order 10, create-lease 40, the send is off chain).
    assert d.balance(w) == 200000 - 20000 - 10 - 40, d.balance(w)
    print(f"ok: the agent deployed lease {lease} on carol with only its session key (status: "
          f"{json.dumps(st)[:120]})")

    # ---- refusals, each naming the rule, each leaving no trace ------------------------------------
    # (far enough from a period boundary that the spend read below is still the period's)
    def period_with(blocks_left):
        c = d.get(f"/q/wallet/wallets/{w}")["current"]
        h = int(d.get("/status")["latest_block_height"])
        return c if int(c["end_height"]) - h >= blocks_left else None
    cur = wait_for("a period with 40 blocks left", lambda: period_with(40), timeout=PERIOD)
    spent = int(cur["spent"].replace("udpai", "") or 0)
    over = BUDGET - spent + 1
    refused(d, "over budget", ("tx", "bank", "send", "agent", keys["alice"], f"{over}udpai", "--wallet", w),
            f"budget {BUDGET}udpai/period (wallet policy): spent {spent + 10}, this message {over}")
    refused(d, "unlisted counterparty", ("tx", "bank", "send", "agent", keys["erin"], "10udpai", "--wallet", w),
            f"{keys['erin']} is not an allowed counterparty")
    refused(d, "price cap", ("deploy", "create", spec_file(root, "greedy.yaml", "500udpai"), "--from", "agent",
                             "--wallet", w), "price cap 200udpai/block (wallet policy): this message 500udpai/block")
    refused(d, "resource kind", ("deploy", "create", spec_file(root, "gpu.yaml", "150udpai", gpu=True), "--from",
                                 "agent", "--wallet", w), "resource kind (wallet policy): gpu is not allowed")
    refused(d, "auto-select with a counterparty list", ("deploy", "create", spec_file(root, "auto.yaml", "150udpai",
                                                                                      auto=True),
                                                        "--from", "agent", "--wallet", w), "auto-select")
    # An expired key.
    d.cli_json("tx", "wallet", "add-key", w, "agent-short", "--from", owner, "--label", "short", "--expires-in",
               "3", "--yes")
    h = int(d.get("/status")["latest_block_height"])
    d.wait_height(h + 5)
    refused(d, "expired key", ("tx", "bank", "send", "agent-short", keys["alice"], "10udpai", "--wallet", w),
            "expired: session key 'short' expired at height")
    # A revoked key: it works, the owner revokes it, it is refused.
    d.cli_json("tx", "wallet", "add-key", w, "agent-revoked", "--from", owner, "--label", "spare", "--yes")
    r = d.cli_json("tx", "bank", "send", "agent-revoked", keys["alice"], "10udpai", "--wallet", w, "--yes")
    assert r["code"] == 0, r
    d.cli_json("tx", "wallet", "revoke-key", w, "agent-revoked", "--from", owner, "--yes")
    refused(d, "revoked key", ("tx", "bank", "send", "agent-revoked", keys["alice"], "10udpai", "--wallet", w),
            "session key 'spare' of wallet " + w + " was revoked")
    # A key that was never added; and the wallet's own administration, signed by the wallet.
    refused(d, "not a session key", ("tx", "bank", "send", "erin", keys["alice"], "10udpai", "--wallet", w),
            "is not a session key of wallet")

    # ---- the next period's budget works again -----------------------------------------------------
    cur = d.get(f"/q/wallet/wallets/{w}")["current"]
    end = int(cur["end_height"])
    d.wait_height(end + 1, timeout=PERIOD)
    big = BUDGET - 1000
    alice0 = d.balance(keys["alice"])
    r = d.cli_json("tx", "bank", "send", "agent", keys["alice"], f"{big}udpai", "--wallet", w, "--yes")
    assert r["code"] == 0, r
    assert d.balance(keys["alice"]) == alice0 + big
    cur2 = d.get(f"/q/wallet/wallets/{w}")["current"]
    assert int(cur2["period"]) > int(cur["period"]), (cur, cur2)
    assert cur2["spent"] == f"{big + 10}udpai", cur2
    print(f"ok: period {cur2['period']}: the budget is whole again ({big}udpai sent to alice)")

    # ---- the agent closes its deployment (the escrow's rest comes back to the wallet) ---------------
    d.cli_json("deploy", "close", order, "--from", "agent", "--wallet", w, "--yes")
    wait_for("the lease closed", lambda: d.get(f"/q/market/leases/{lease}")["lease"]["state"] == "LEASE_STATE_CLOSED")
    print(f"ok: the agent closed order {order}")

    # ---- the owner revokes the wallet and drains it -----------------------------------------------
    d.cli_json("tx", "wallet", "revoke", w, "--from", owner, "--yes")
    refused(d, "revoked wallet", ("tx", "bank", "send", "agent", keys["alice"], "10udpai", "--wallet", w),
            "was revoked by its owner")
    left = d.balance(w)
    o0 = d.balance(keys[owner])
    d.cli_json("tx", "wallet", "drain", w, "--from", owner, "--yes")
    assert d.balance(w) == 0 and d.balance(keys[owner]) == o0 + left - 10, (left, o0, d.balance(keys[owner]))
    print(f"ok: the owner revoked the wallet and drained {left}udpai back")
    return {"wallet": w, "provider": p.address}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="depai-machine-")
    d = Depai(args.depai, os.path.join(root, "chain"))
    os.makedirs(d.home)
    procs = []
    ok = False
    try:
        d.cli_json("devnet", "init", "--accounts", "6")
        # No emissions: balances and the supply are exact (the channel part checks both).
        gpath = os.path.join(d.home, "config", "genesis.json")
        with open(gpath) as f:
            g = json.load(f)
        g["app_state"]["mint"] = {"params": {"initial_reward": "0"}}
        with open(gpath, "w") as f:
            json.dump(g, f, indent=1)
        keys = {k["name"]: k["address"] for k in d.cli_json("keys", "list")}
        d.start(block_time="200ms")
        wallet_part(d, keys, root, procs)
        for p in procs:  # carol's daemon signs with carol's key; the channel part uses it too
            p.stop()
        import me_identity  # noqa: E402
        import me_channel  # noqa: E402
        me_identity.run(d, keys)
        me_channel.run(d, keys)
        ok = True
        print("PASS: test_machine_economy")
    finally:
        for p in procs:
            p.stop()
        d.stop()
        if not ok:
            print(d.log())
            for p in procs:
                print(f"--- {p.name} log ---\n{p.log()}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
