#!/usr/bin/env python3
"""Machine economy, the channel part (x/channel; doc/modules/channel.md). `run(d, keys)` is called
by test_machine_economy.py on its devnet; run alone, this file starts a devnet of its own:

    python3 test/functional/me_channel.py --depai build/release/depai

bob (the payer, his own key signs the vouchers) opens a udpai channel to carol. carol's
`depai channel receive` runs as a real second process; bob's `depai channel pay` makes 5,000
payments by voucher and 5,000 by ticket over its WebSocket stream, each answered with the metered
chunk it bought. carol redeems mid-way from the receiver's state file. bob then cheats: a close
with a stale voucher (an old nonce) is refused with both nonces named and leaves no trace; his
close with a fresh voucher for only what carol already redeemed starts the challenge period, and
carol, within it, presents her best proof (the ticket voucher and its 5,000th preimage) and is
paid in full. Anyone settles after the period; bob gets the rest. Balances are exact (every fee
counted), the module account is empty, and the udpai supply changes by exactly what x/mint minted
(nothing when emissions are off).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depai_harness import Depai  # noqa: E402

FEE = 10          # udpai, the CLI's default --fees
PRICE = 10        # udpai per unit
UNITS = 5000      # per mode
DEPOSIT = 150000  # udpai


def cli_json_ok(d, *args):
    r = d.cli(*args, "--yes")
    return json.loads(r.stdout)


def event_attr(ans, type_, key):
    for e in ans.get("events", []):
        if e.get("type") == type_:
            for a in e.get("attributes", []):
                if a.get("key") == key:
                    return a.get("value")
    return None


def supply_and_minted(d):
    """(udpai supply, x/mint's cumulative minted) read from one committed state."""
    _, (s, m) = d.at_one_height(lambda: (
        next((int(c["amount"]) for c in d.get("/supply")["supply"] if c["denom"] == "udpai"), 0),
        d.get("/q/mint/status")["minter"].get("minted", "0")))
    return s, int(m or 0)


def module_address(d):
    import hashlib
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_market import bech32_address  # noqa: E402
    return bech32_address(hashlib.sha256(b"module:channel").digest()[:20])


def run(d, keys):
    t0 = time.time()
    bob, carol = keys["bob"], keys["carol"]
    work = tempfile.mkdtemp(prefix="depai-me-channel-")
    recv = None
    try:
        params = d.get("/q/channel/params")
        cb = int(params["min_challenge_blocks"])
        supply0, minted0 = supply_and_minted(d)
        b0, c0 = d.balance(bob), d.balance(carol)
        bob_fees = carol_fees = 0

        ans = cli_json_ok(d, "tx", "channel", "open", carol, f"{DEPOSIT}udpai", "--from", "bob",
                          "--challenge-blocks", str(cb))
        bob_fees += FEE
        cid = event_attr(ans, "channel.open", "id")
        assert cid, ans
        ch = d.get(f"/q/channel/channels/{cid}")
        assert ch["state"] == "CHANNEL_STATE_OPEN" and ch["deposit"] == str(DEPOSIT), ch
        print(f"ok: bob opened channel {cid} to carol with {DEPOSIT}udpai, challenge {cb} blocks")

        # carol's receiver: a real second process.
        state = os.path.join(work, "carol-channel.json")
        log = open(os.path.join(work, "receive.log"), "w")
        recv = subprocess.Popen([d.binary, "channel", "receive", "--channel", cid, "--listen", "127.0.0.1:0",
                                 "--state", state, "--unit-price", str(PRICE), "--home", d.home, "--node", d.node],
                                stdout=subprocess.PIPE, stderr=log, text=True)
        line = recv.stdout.readline()
        assert line, "the receiver printed nothing"
        port = json.loads(line)["port"]
        url = f"ws://127.0.0.1:{port}/channel/{cid}/stream"

        def pay(mode):
            return cli_json_ok(d, "channel", "pay", "--channel", cid, "--url", url, "--key", "bob",
                               "--units", str(UNITS), "--mode", mode, "--unit-price", str(PRICE))

        s1 = pay("voucher")
        assert s1["units"] == UNITS and s1["total"] == str(UNITS * PRICE), s1
        assert s1["bytes_received"] == UNITS * 32, s1
        print(f"ok: {UNITS} payments by voucher over the stream: {s1['units_per_s']:.0f} units/s")

        # carol redeems mid-way, from the receiver's state.
        cli_json_ok(d, "tx", "channel", "redeem", cid, "--from", "carol", "--from-state", state)
        carol_fees += FEE
        ch = d.get(f"/q/channel/channels/{cid}")
        assert ch["redeemed"] == str(UNITS * PRICE) and ch["nonce"] == str(UNITS), ch
        assert d.balance(carol) == c0 + UNITS * PRICE - carol_fees
        print(f"ok: carol redeemed {UNITS * PRICE}udpai mid-way (voucher nonce {UNITS})")

        s2 = pay("ticket")
        assert s2["units"] == UNITS and s2["total"] == str(2 * UNITS * PRICE) and s2["nonce"] == str(UNITS + 1), s2
        print(f"ok: {UNITS} payments by ticket over the stream: {s2['units_per_s']:.0f} units/s")
        best = json.loads(open(state).read())
        assert best["ticket_units"] == str(UNITS) and best["proven"] == str(2 * UNITS * PRICE), best

        # bob cheats: a close with a stale voucher (an old nonce) is refused and leaves no trace.
        stale = os.path.join(work, "stale.json")
        with open(stale, "w") as f:
            f.write(d.cli("channel", "voucher", "--channel", cid, "--key", "bob", "--amount", "20000",
                          "--nonce", "2000", json_out=False).stdout)
        before = d.get(f"/q/channel/channels/{cid}")
        bal_before = d.balance(bob)
        r = d.cli("tx", "channel", "close", cid, "--from", "bob", "--voucher-file", stale, "--yes", check=False)
        msg = r.stderr + r.stdout
        assert r.returncode != 0 and "stale voucher: nonce 2000" in msg and f"recorded nonce {UNITS}" in msg, msg
        try:
            body = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            body = {}
        if int(body.get("height", "0") or 0) > 0:  # refused in a block: the fee sticks; else CheckTx refused it
            bob_fees += FEE
        assert d.get(f"/q/channel/channels/{cid}") == before, "a refused close changed the channel"
        assert d.balance(bob) in (bal_before, bal_before - FEE)
        print("ok: bob's stale-voucher close refused: " + msg.strip().splitlines()[-1][:150])

        # bob closes with a fresh voucher for only what carol already redeemed: the period starts.
        fresh = os.path.join(work, "fresh.json")
        with open(fresh, "w") as f:
            f.write(d.cli("channel", "voucher", "--channel", cid, "--key", "bob", "--amount", str(UNITS * PRICE),
                          "--nonce", str(UNITS + 7), json_out=False).stdout)
        ans = cli_json_ok(d, "tx", "channel", "close", cid, "--from", "bob", "--voucher-file", fresh)
        bob_fees += FEE
        settle_h = int(event_attr(ans, "channel.close", "settle_height"))
        close_h = int(ans["height"])
        ch = d.get(f"/q/channel/channels/{cid}")
        assert ch["state"] == "CHANNEL_STATE_CLOSING" and ch["redeemed"] == str(UNITS * PRICE), ch
        r = d.cli("tx", "channel", "settle", cid, "--from", "carol", "--yes", check=False)
        assert r.returncode != 0 and "challenge period runs until height" in r.stderr + r.stdout, r.stderr
        try:
            body = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            body = {}
        if int(body.get("height", "0") or 0) > 0:
            carol_fees += FEE
        print(f"ok: bob closed at height {close_h} with a voucher for {UNITS * PRICE}udpai; settle refused "
              f"before height {settle_h}")

        # carol wins the dispute within the challenge period with her best proof. The CLI raises the
        # gas for the ticket's hashes (params.gas_per_hash each), and the fee with it.
        gas = 200000 + UNITS * int(params["gas_per_hash"])
        ticket_fee = max(FEE, -(-gas * int(d.get("/params/auth")["min_gas_price_micro"]) // 1_000_000))
        ans = cli_json_ok(d, "tx", "channel", "redeem", cid, "--from", "carol", "--from-state", state)
        carol_fees += ticket_fee
        redeem_h = int(ans["height"])
        assert redeem_h < settle_h, (redeem_h, settle_h)
        ch = d.get(f"/q/channel/channels/{cid}")
        assert ch["redeemed"] == str(2 * UNITS * PRICE) and ch["ticket_units"] == str(UNITS), ch
        print(f"ok: carol presented her ticket voucher (nonce {UNITS + 1}) and {UNITS} units at height {redeem_h}, "
              f"within the period: proven {2 * UNITS * PRICE}udpai")

        d.wait_height(settle_h, timeout=cb * 2 + 30)
        ans = cli_json_ok(d, "tx", "channel", "settle", cid, "--from", "carol")
        carol_fees += FEE
        r = d.cli("query", "channel", cid, check=False)
        assert r.returncode != 0 and "not found" in r.stderr + r.stdout, r.stdout
        paid = 2 * UNITS * PRICE
        assert d.balance(carol) == c0 + paid - carol_fees, (d.balance(carol), c0, paid, carol_fees)
        assert d.balance(bob) == b0 - paid - bob_fees, (d.balance(bob), b0, paid, bob_fees)
        assert d.balance(module_address(d)) == 0
        supply1, minted1 = supply_and_minted(d)
        assert supply1 - supply0 == minted1 - minted0, (supply0, supply1, minted0, minted1)
        print(f"ok: settled: carol +{paid} (fees {carol_fees}), bob -{paid} (fees {bob_fees}), module:channel 0, "
              f"udpai supply moved only by x/mint's {minted1 - minted0} ({time.time() - t0:.1f}s)")
        return {"channel_id": cid, "voucher_units_per_s": s1["units_per_s"], "ticket_units_per_s": s2["units_per_s"],
                "paid": paid, "payee_fees": carol_fees, "payer_fees": bob_fees, "challenge_blocks": cb,
                "closed_at": close_h, "disputed_at": redeem_h, "settle_height": settle_h}
    finally:
        if recv and recv.poll() is None:
            recv.terminate()
            try:
                recv.wait(timeout=10)
            except subprocess.TimeoutExpired:
                recv.kill()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="depai-me-channel-chain-")
    d = Depai(args.depai, os.path.join(root, "chain"))
    os.makedirs(d.home)
    ok = False
    try:
        d.cli_json("devnet", "init", "--accounts", "4")
        gpath = os.path.join(d.home, "config", "genesis.json")
        with open(gpath) as f:
            g = json.load(f)
        g["app_state"]["mint"] = {"params": {"initial_reward": "0"}}  # supply exactly unchanged
        g["app_state"]["channel"] = {"params": {"min_challenge_blocks": "20"}}
        with open(gpath, "w") as f:
            json.dump(g, f, indent=1)
        keys = {k["name"]: k["address"] for k in d.cli_json("keys", "list")}
        d.start(block_time="200ms")
        print(json.dumps(run(d, keys)))
        ok = True
    finally:
        d.stop()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"logs kept in {root}:\n{d.log()}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
