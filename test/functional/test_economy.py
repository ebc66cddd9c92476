#!/usr/bin/env python3
"""Functional test: the token economy on a devnet with a price feeder, driven through the CLI
and the HTTP API as a user would.

alice is the devnet's oracle feeder and posts DPAI/USD = 0.05. bob burns DPAI for credits (the
credits are exactly floor(amount * conservative_e9 / 1e9)) and deploys a credit-priced service
(max price and deposit in ucredit); carol's real `depai provider run` daemon bids in ucredit (its
udpai price converted at the oracle's price), runs it and withdraws every few blocks, which
settles and burns the credits. At the epoch end x/rewards pays the epoch's emissions: the test
recomputes, from the chain's own events and parameters, carol's work reward, the epoch's pool
(emissions exactly initial_reward * epoch_blocks, plus the carried remainder), the organic
revenue (the credits settled on the lease), the subsidy at the oracle price and their ratio, and
compares each with the epoch record, in JSON and CSV. Also: credits cannot be transferred; the
udpai supply equals genesis + minted - burned.
"""
import argparse
import csv
import io
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depai_harness import DaemonProcess, Depai, free_port  # noqa: E402
from test_verify import Provider, http_json  # noqa: E402  (the provider daemon fixture)

REWARD = 1_000_000     # udpai per block (mint.initial_reward)
EPOCH = 40             # rewards.epoch_blocks
WORK_BPS = 5000


def wait_for(what, fn, timeout=90, interval=0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def patch_genesis(home):
    path = os.path.join(home, "config", "genesis.json")
    with open(path) as f:
        g = json.load(f)
    st = g.setdefault("app_state", {})
    st["mint"] = {"params": {"initial_reward": str(REWARD), "halving_blocks": "1000000"}}
    st["rewards"] = {"params": {"epoch_blocks": str(EPOCH)}}
    with open(path, "w") as f:
        json.dump(g, f, indent=1)
    return g


def udpai(coins):
    return sum(int(c["amount"]) for c in coins if c["denom"] == "udpai")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="depai-economy-")
    d = Depai(args.depai, os.path.join(root, "chain"))
    os.makedirs(d.home)
    procs = []
    ok = False
    try:
        d.cli_json("devnet", "init", "--accounts", "4")
        g = patch_genesis(d.home)
        genesis_udpai = sum(udpai(b["coins"]) for b in g["app_state"]["bank"]["balances"])
        keys = {k["name"]: k["address"] for k in d.cli_json("keys", "list")}
        d.start(block_time="200ms")

        # ---- the price: alice feeds 0.05 --------------------------------------------------------
        before = d.get("/oracle/price")
        assert before["available"] is False and before["reason"], before
        r = d.cli_json("tx", "oracle", "post-price", "0.05", "--from", "alice", "--yes")
        assert r["code"] == 0, r
        bad = d.cli("tx", "oracle", "post-price", "0.05", "--from", "bob", "--yes", check=False)
        assert bad.returncode != 0 and "feeder" in (bad.stderr + bad.stdout), bad.stderr + bad.stdout
        price = wait_for("an available price", lambda: (lambda p: p if p["available"] else None)(d.get("/oracle/price")))
        assert price["price_e9"] == "50000000", price
        cons = int(price["conservative_e9"])
        print(f"ok: price {price['price']} USD, conservative {price['conservative']}")

        # ---- bob burns DPAI for credits ---------------------------------------------------------
        burn = 40_000_000
        c0 = d.balance(keys["bob"], "ucredit")
        r = d.cli_json("tx", "bme", "burn", f"{burn}udpai", "--from", "bob", "--yes")
        assert r["code"] == 0, r
        minted = d.balance(keys["bob"], "ucredit") - c0
        assert minted == burn * cons // 10**9, (minted, burn, cons)
        print(f"ok: bob burned {burn}udpai for {minted}ucredit")
        # Credits are not transferable.
        t = d.cli("tx", "bank", "send", "bob", keys["alice"], "5ucredit", "--yes", check=False)
        assert t.returncode != 0 and "not transferable" in (t.stderr + t.stdout), t.stderr + t.stdout

        # ---- carol's provider daemon; bob deploys a credit-priced service ------------------------
        p = Provider(d, "p-carol", "carol", root)
        with open(p.config) as f:
            cfg = f.read().replace("[daemon]\n", "[daemon]\nwithdraw_every_blocks = 5\n")
        with open(p.config, "w") as f:
            f.write(cfg)
        p.start()
        procs.append(p)
        spec = os.path.join(root, "svc.yaml")
        with open(spec, "w") as f:
            f.write("""version: "1"
services:
  svc:
    runtime: exec
    command: ["sleep", "600"]
    restart: never
resources: {cpu_millicores: 1000, memory_mib: 256}
count: 1
placement: {region: eu-west}
pricing: {denom: ucredit, max_price_per_block: 50ucredit, deposit: 20000ucredit, bid_window: 10, auto_select: true}
""")
        out = d.cli_json("deploy", "create", spec, "--from", "bob", "--wait", "--yes")
        order = out["order_id"]
        lease = wait_for("a lease on the credit order",
                         lambda: next((l["lease"] for l in d.get(f"/q/market/leases?owner={keys['bob']}")["leases"]
                                       if l["lease"]["order_id"] == str(order)), None))
        assert lease.get("denom") == "ucredit", lease
        rate = int(lease["price_per_block"])
        assert 0 < rate <= 50, lease
        print(f"ok: lease {lease['id']} at {rate}ucredit/block with {lease['provider']}")

        # ---- an epoch with settled (burned) credits ends ----------------------------------------
        def rewarded_epoch():
            pr = d.get(f"/q/rewards/provider/{p.address}")
            if pr.get("total", "0") == "0" or pr.get("work", "0") == "0":
                return None
            return pr
        pr = wait_for("carol's first work reward", rewarded_epoch, timeout=120)
        e = int(pr["epoch"])
        rec = d.get(f"/economy/epochs/{e}")
        lo, hi = int(rec["start_height"]), int(rec["end_height"])
        assert hi - lo + 1 == EPOCH, rec

        # Organic revenue: every settlement of bob's lease in the epoch (amount to provider + take).
        settled = [ev for ev in d.events("market.escrow_settled", lo, hi)
                   if ev["attributes"]["lease_id"] == lease["id"]]
        assert settled, "no settlement of the lease inside the epoch"
        paid = sum(int(ev["attributes"]["amount"]) + int(ev["attributes"]["take"]) for ev in settled)
        assert rec["revenue_ucredit"] == str(paid), (rec["revenue_ucredit"], paid)
        assert rec["revenue_udpai"] == "0", rec
        assert rec["revenue_uusd"] == str(paid), rec          # 1 ucredit = 1 micro-USD
        assert rec["burned_ucredit"] == str(paid), rec        # credits are burned as they settle
        assert pr["work_uusd"] == str(paid), pr

        # The pool: the epoch's emissions (every block minted REWARD) plus what was carried in.
        assert rec["emissions"] == str(REWARD * EPOCH), rec
        pool = int(rec["pool"])
        assert pool == REWARD * EPOCH + int(rec["carried_in"]), rec
        if e > 0:
            assert d.get(f"/economy/epochs/{e - 1}")["carried_out"] == rec["carried_in"]
        # carol is the only provider with work: her work reward is the whole work pool.
        work_pool = pool * WORK_BPS // 10000
        assert pr["work"] == str(work_pool), (pr, work_pool)  # floor(work_pool * w / W), w == W
        assert rec["work_rewards"] == pr["work"], rec
        paid_ev = [ev for ev in d.events("rewards.paid", hi, hi) if ev["attributes"]["provider"] == p.address]
        assert paid_ev and paid_ev[0]["attributes"]["work"] == pr["work"], paid_ev

        # Subsidy at the oracle price and the revenue/subsidy ratio, exactly.
        px = int(rec["price_e9"])
        assert px == 50_000_000 and rec["price_available"] is True, rec
        subsidy = REWARD * EPOCH * px // 10**9
        assert rec["subsidy_uusd"] == str(subsidy), rec
        assert rec["revenue_to_subsidy_e9"] == str(paid * 10**9 // subsidy), rec
        assert int(rec["paying_buyers"]) == 1 and int(rec["rewarded_providers"]) == 1, rec
        print(f"ok: epoch {e}: pool {pool}, carol's work reward {pr['work']} for {paid} uusd of work; "
              f"revenue {paid} uusd vs subsidy {subsidy} uusd = {int(rec['revenue_to_subsidy_e9']) / 1e9:.9f}")

        # ---- the CLI: JSON and CSV show the same figures -----------------------------------------
        js = d.cli_json("query", "economy", "epochs")["epochs"]
        row_json = next(x for x in js if x["epoch"] == str(e))
        assert row_json == rec, (row_json, rec)
        text = d.cli("query", "economy", "epochs", "--output", "csv", json_out=False).stdout
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == len(js), (len(rows), len(js))
        row = next(x for x in rows if x["epoch"] == str(e))
        for k in ("pool", "emissions", "revenue_uusd", "subsidy_uusd", "revenue_to_subsidy_e9", "work_rewards",
                  "burned_ucredit", "net_supply_change"):
            assert row[k] == str(rec[k]), (k, row[k], rec[k])
        bad = d.cli("query", "economy", "epochs", "--limit", "0", check=False)
        assert bad.returncode != 0, bad.stdout
        st, err = d.request("GET", "/economy/epochs/999999")
        assert st == 404, (st, err)

        # ---- supply: genesis + minted - burned, exactly -------------------------------------------
        h1, (sup, mint) = d.at_one_height(lambda: (udpai(d.get("/supply")["supply"]), d.get("/q/mint/status")))
        burned = sum(int(ev["attributes"]["amount"].replace("udpai", "")) for ev in d.events("burn", 1, h1)
                     if ev["attributes"]["amount"].endswith("udpai"))
        assert sup == genesis_udpai + int(mint["minter"]["minted"]) - burned, (sup, genesis_udpai, mint, burned)
        print("ok: udpai supply == genesis + minted - burned")
        ok = True
    finally:
        for pr_ in procs:
            pr_.stop()
        d.stop()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root} for inspection", file=sys.stderr)
            for pr_ in procs:
                print(pr_.log()[-4000:], file=sys.stderr)
            print(d.log()[-4000:], file=sys.stderr)
    print("PASS test_economy")


if __name__ == "__main__":
    main()
