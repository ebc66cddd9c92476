#!/usr/bin/env python3
"""Functional test: the compute marketplace end to end with real processes.

A devnet (200 ms blocks) and three `depai provider run` daemons on 127.0.0.1 with different
prices in different regions (Berlin, Madrid, Warsaw), all with tier=gold, but only two have the
tier audited by the auditor the buyer requires. The buyer deploys examples/route-optimization/spec.yaml
(plus the auditor requirement and a distance limit around Berlin) and the test checks: only the
eligible providers bid; the winner is the one the documented score (doc/modules/market.md: price,
locality, reputation) picks, recomputed here independently, and it is not the cheapest; the manifest is
delivered; the job runs; logs and a result whose SHA-256 matches come back; exact payments
(provider +rate*blocks - take fee, escrow -rate*blocks, treasury +take, buyer refunded the rest);
total supply unchanged. Then a long-running service: its provider is killed -9 and restarted and
still serves it (same process, adopted); killed again, the buyer closes and redeploys to another
provider; that deployment's escrow runs low -> events, grace, close with INSUFFICIENT_FUNDS.
Failure cases: manifests with a wrong hash, unsigned, forged or tampered are rejected with clear
errors; reads without a signature are refused; bids above the max price, the 21st bid and an
ineligible provider's bid are rejected by the chain.
"""
import argparse
import glob
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depai_harness import DaemonProcess, Depai, free_port  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "route-optimization")
FEE = 10
TAKE_BPS = 200

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def bech32_address(raw20, hrp="depai"):
    acc, bits, data = 0, 0, []
    for b in raw20:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hrp_exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = bech32_polymod(hrp_exp + data + [0] * 6) ^ 1
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data + checksum)


def module_address(name):
    return bech32_address(hashlib.sha256(f"module:{name}".encode()).digest()[:20])


class Provider(DaemonProcess):
    def __init__(self, d, name, key, price_cpu, attrs, home_root, region="eu-west", lat="52.52", lon="13.40",
                 sandbox_extra="", config_extra=""):
        self.d, self.name, self.key = d, name, key
        self.home = os.path.join(home_root, name)
        os.makedirs(self.home, exist_ok=True)
        # The leases' directories: the sandbox (a per-lease uid) must be able to reach them by path,
        # which a 0700 temp directory forbids; a searchable directory of its own, removed at the end.
        self.state = tempfile.mkdtemp(prefix=f"depai-state-{name}-")
        os.chmod(self.state, 0o711)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(self.home, "provider.toml")
        attr_toml = ", ".join(f'{k} = "{v}"' for k, v in attrs.items())
        with open(self.config, "w") as f:
            f.write(f"""node = "{d.node}"
key = "{key}"
keyring_home = "{d.home}"
listen = "127.0.0.1:{self.port}"
[provider]
region = "{region}"
lat = "{lat}"
lon = "{lon}"
attributes = {{{attr_toml}}}
[inventory]
cpu_millicores = 4000
memory_mib = 8192
storage = [{{class = "ssd", size_mib = 100000}}]
[pricing]
per_cpu_core = {price_cpu}
per_memory_gib = 10
per_storage_gib = {{ssd = 1}}
[daemon]
poll_interval_ms = 150
withdraw_every_blocks = 15
manifest_timeout_blocks = 150
{config_extra}
[sandbox]
state_dir = "{self.state}"
{sandbox_extra}
""")
        self.lat, self.lon = lat, lon
        self.proc = None
        self.log_path = os.path.join(self.home, "provider.log")

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([self.d.binary, "provider", "run", "--home", self.home, "--config", self.config],
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=2) as r:
                    h = json.loads(r.read())
                    self.address = h["provider"]
                    return
            except Exception:
                time.sleep(0.1)
        raise AssertionError(f"{self.name} did not come up:\n{self.log()}")

    def kill_workloads(self):
        """Workloads outlive their provider by design; the test ends them (by recorded pid)."""
        for st in glob.glob(os.path.join(self.state, "leases", "*", "*", "status.json")):
            try:
                with open(st) as f:
                    pid = json.load(f).get("pid", 0)
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if pid and b"depai-shim" in f.read():
                        os.killpg(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        time.sleep(0.2)
        shutil.rmtree(self.state, ignore_errors=True)



def micro_degrees(text):
    """Decimal degrees (text) to integer micro-degrees, without floating point."""
    neg = text.startswith("-")
    whole, _, frac = text.lstrip("+-").partition(".")
    v = int(whole) * 1_000_000 + int((frac + "000000")[:6])
    return -v if neg else v


def tdiv(a, b):
    """Integer division truncating toward zero (as in C++)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def documented_score(price, min_price, lat, lon, clat, clon, max_d, uptime_bps):
    """doc/modules/market.md, "Automatic selection and scoring", re-implemented from the text."""
    lat1, lon1, lat2, lon2 = micro_degrees(clat), micro_degrees(clon), micro_degrees(lat), micro_degrees(lon)
    dlat, dlon = lat2 - lat1, lon2 - lon1
    if dlon > 180_000_000:
        dlon -= 360_000_000
    if dlon < -180_000_000:
        dlon += 360_000_000
    mean = abs(tdiv(lat1 + lat2, 2))
    cos_e6 = tdiv((32400 * 10**12 - 4 * mean * mean) * 10**6, 32400 * 10**12 + mean * mean)
    x_e6 = tdiv(dlon * cos_e6, 10**6)
    deg_e6 = math.isqrt(x_e6 * x_e6 + dlat * dlat)
    dist = deg_e6 * 6371000 * 3141592654 // (180 * 10**9 * 10**6)
    locality = (max_d - dist) * 10000 // max_d if dist < max_d else 0
    price_c = min_price * 10000 // price
    return (6000 * price_c + 2000 * locality + 2000 * uptime_bps) // 10000


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def wait_for(what, fn, timeout=30, interval=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


def consistent_account(d, addr):
    """(balance udpai, sequence) read from one committed state."""
    while True:
        s1 = int(d.get(f"/accounts/{addr}")["sequence"])
        bal = d.balance(addr)
        s2 = int(d.get(f"/accounts/{addr}")["sequence"])
        if s1 == s2:
            return bal, s1


def supply(d):
    for c in d.get("/supply")["supply"]:
        if c["denom"] == "udpai":
            return int(c["amount"])
    return 0


def expect_cli_fail(d, args, needle):
    r = d.cli(*args, check=False)
    msg = r.stderr + r.stdout
    assert r.returncode != 0, f"{args} should fail: {msg}"
    assert needle in msg, f"{args}: expected '{needle}' in: {msg}"
    print(f"ok: rejected {' '.join(args[:3])}: {msg.strip().splitlines()[-1][:140]}")


def write_spec(dirpath, name, text):
    path = os.path.join(dirpath, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    t_start = time.time()
    root = tempfile.mkdtemp(prefix="depai-market-")
    d = Depai(args.depai, os.path.join(root, "chain"))
    os.makedirs(d.home)
    providers = []
    ok = False
    try:
        d.cli_json("devnet", "init", "--accounts", "7")
        # No emissions here: this test accounts for every udpai the market moves (supply, treasury
        # and checker pool exactly); x/mint and x/rewards have test_economy.py.
        gpath = os.path.join(d.home, "config", "genesis.json")
        with open(gpath) as f:
            g = json.load(f)
        g["app_state"]["mint"] = {"params": {"initial_reward": "0"}}
        with open(gpath, "w") as f:
            json.dump(g, f, indent=1)
        keys = {k["name"]: k["address"] for k in d.cli_json("keys", "list")}
        alice, bob = keys["alice"], keys["bob"]
        d.start(block_time="200ms")
        treasury, escrow_acct = module_address("treasury"), module_address("market_escrow")
        pool = module_address("checker_pool")  # checker_pool_bps of every take fee goes here

        gold = {"tier": "gold"}
        # 126 udpai/block for the spec, in Berlin (the order's centre)
        p_dear = Provider(d, "p-near", "dave", 120, gold, root, "eu-central", "52.52", "13.405")
        # 106 udpai/block, in Madrid (~1870 km away)
        p_cheap = Provider(d, "p-far", "erin", 100, gold, root, "eu-south", "40.4168", "-3.7038")
        # cheapest, in Warsaw, but its tier is not audited
        p_unaud = Provider(d, "p-unaudited", "frank", 50, gold, root, "eu-east", "52.2297", "21.0122")
        providers = [p_dear, p_cheap, p_unaud]
        for p in providers:
            p.start()
        byaddr = {p.address: p for p in providers}
        # The auditor vouches for tier=gold of two providers only.
        for p in (p_dear, p_cheap):
            d.cli_json("tx", "provider", "sign-attributes", "bob", p.address, "--attr", "tier=gold", "--yes")
        print(f"ok: devnet + 3 providers up ({time.time() - t_start:.1f}s)")

        # ---- the route optimizer, requiring bob's audit ---------------------------------------
        work = os.path.join(root, "specs")
        os.makedirs(work)
        for f in ("optimize.py", "stops.json"):
            shutil.copy(os.path.join(EXAMPLE, f), work)
        with open(os.path.join(EXAMPLE, "spec.yaml")) as f:
            spec_text = f.read()
        spec_text = spec_text.replace("  attributes: {tier: gold}\n",
                                      f"  attributes: {{tier: gold}}\n  auditors: [{bob}]\n"
                                      "  center: {lat: 52.52, lon: 13.405}\n  max_distance_km: 2500\n")
        spec_text = spec_text.replace("  region: eu-west\n", "")
        spec_text = spec_text.replace("max_price_per_block: 100udpai", "max_price_per_block: 300udpai")
        # Both audited providers must bid: 15 blocks (3 s), not the example's 5, leave room for a
        # loaded machine where a provider's loop is busy for a block with its own heartbeat.
        spec_text = spec_text.replace("bid_window: 5,", "bid_window: 15,")
        assert "auditors" in spec_text and "300udpai" in spec_text and "region" not in spec_text
        assert "bid_window: 15," in spec_text
        spec = write_spec(work, "spec.yaml", spec_text)

        supply0 = supply(d)
        a0, _ = consistent_account(d, alice)
        c0, cseq0 = consistent_account(d, p_dear.address)
        t0 = d.balance(treasury) + d.balance(pool)
        out = d.cli_json("deploy", "create", spec, "--from", "alice", "--wait", "--yes")
        order1, lease1 = out["order_id"], out["lease_id"]
        bids = d.get(f"/q/market/orders/{order1}/bids")["bids"]
        bidders = {b["provider"] for b in bids}
        assert bidders == {p_dear.address, p_cheap.address}, (bidders, p_unaud.log())
        prices = {b["provider"]: int(b["price_per_block"]) for b in bids}
        assert prices == {p_dear.address: 126, p_cheap.address: 106}, prices
        # The documented score, recomputed here from the bids, the providers' coordinates and the
        # uptime the chain used (recorded in market.bid_scored), must match the chain's and pick the winner.
        scored = {e["attributes"]["provider"]: e["attributes"] for e in d.events("market.bid_scored")
                  if e["attributes"]["order_id"] == order1}
        assert set(scored) == bidders, scored
        mine = {}
        for p in (p_dear, p_cheap):
            a = scored[p.address]
            mine[p.address] = documented_score(prices[p.address], min(prices.values()), p.lat, p.lon, "52.52", "13.405",
                                               2500_000, int(a["reputation_bps"]))
            assert mine[p.address] == int(a["score_total"]), (p.name, mine[p.address], a)
        expected = max(mine, key=lambda addr: (mine[addr], -prices[addr]))
        assert out["provider"] == expected == p_dear.address, (out, mine)
        print(f"ok: scores {{near: {mine[p_dear.address]}, far: {mine[p_cheap.address]}}} recomputed from the "
              f"documented formula; the nearer, dearer provider won over the cheaper one")
        wait_for("the unaudited provider's reason", lambda: "audit of tier=gold" in p_unaud.log(), 10)
        print(f"ok: order {order1}: bids only from the 2 audited providers {sorted(prices.values())}, "
              f"{p_dear.name} won lease {lease1}; the unaudited one logged why it did not bid")

        # The job runs and completes; the provider closes the lease WORKLOAD_COMPLETED.
        st = wait_for("job completion", lambda: (lambda s: s if s["workload_state"] == "succeeded" else None)(
            d.cli_json("deploy", "status", order1, "--from", "alice")), 60)
        assert st["services"][0]["exit_code"] == 0, st
        lease = wait_for("lease closed", lambda: (lambda l: l if l["lease"]["state"] == "LEASE_STATE_CLOSED"
                                                  else None)(d.get(f"/q/market/leases/{lease1}")), 30)
        assert lease["lease"]["close_reason"] == "CLOSE_REASON_WORKLOAD_COMPLETED", lease
        logs = d.cli("deploy", "logs", order1, "--from", "alice", json_out=False).stdout
        assert "14 stops" in logs and "depot-mitte ->" in logs, logs
        resdir = os.path.join(root, "results")
        res = d.cli_json("deploy", "results", order1, "--from", "alice", "--out", resdir)
        art = res["artifacts"][0]
        with open(os.path.join(resdir, "route.json"), "rb") as f:
            got = f.read()
        assert art["verified"] and art["sha256"] == hashlib.sha256(got).hexdigest(), res
        local = os.path.join(root, "route-local.json")
        subprocess.run([sys.executable, os.path.join(EXAMPLE, "optimize.py"), "--stops",
                        os.path.join(EXAMPLE, "stops.json"), "--out", local], check=True, capture_output=True)
        with open(local, "rb") as f:
            assert f.read() == got, "the provider's route.json differs from a local run"
        route = json.loads(got)
        print(f"ok: job ran; logs fetched; route.json sha256 {art['sha256'][:16]}... verified and equal to a "
              f"local run ({route['total_distance_m']} m over {route['stops']} stops)")

        # Exact payments for lease 1.
        lease = d.get(f"/q/market/leases/{lease1}")
        rate = int(lease["lease"]["price_per_block"])
        blocks = int(lease["lease"]["closed_height"]) - int(lease["lease"]["start_height"])
        take = rate * TAKE_BPS // 10000
        esc = lease["escrow"]
        assert int(esc["paid_to_provider"]) == blocks * (rate - take), (esc, blocks, rate)
        assert int(esc["paid_take_fee"]) == blocks * take, esc
        a1, _ = consistent_account(d, alice)
        assert a1 == a0 - blocks * rate - FEE, (a0, a1, blocks, rate)  # the rest of the deposit came back
        c1, cseq1 = consistent_account(d, p_dear.address)
        assert c1 - c0 == blocks * (rate - take) - FEE * (cseq1 - cseq0), (c0, c1, cseq0, cseq1, blocks)
        assert d.balance(treasury) + d.balance(pool) - t0 == blocks * take, (t0, d.balance(treasury))
        assert supply(d) == supply0, "total supply changed"
        print(f"ok: {blocks} blocks at {rate}udpai: provider +{blocks * (rate - take)} (net of {FEE}udpai x "
              f"{cseq1 - cseq0} tx fees), treasury +{blocks * take}, buyer -{blocks * rate}; supply unchanged")

        # ---- manifest upload errors, on a long-running service -----------------------------------
        svc_yaml = """version: "1"
services:
  ticker:
    command: ["python3", "-u", "-c", "import time\\nwhile True:\\n    print('tick', flush=True)\\n    time.sleep(0.5)"]
    restart: always
resources: {cpu_millicores: 2000, memory_mib: 1024}
pricing: {max_price_per_block: 500udpai, deposit: 400000udpai, bid_window: 10, auto_select: true}
"""
        svc = write_spec(work, "service.yaml", svc_yaml)
        other = write_spec(work, "other.yaml", svc_yaml.replace("tick", "tock"))
        out = d.cli_json("deploy", "create", svc, "--from", "alice", "--yes")
        order2 = out["order_id"]
        o = wait_for("lease of order 2", lambda: (lambda o: o if o["order"]["lease_id"] != "0" else None)(
            d.get(f"/q/market/orders/{order2}")), 20)
        lease2 = o["order"]["lease_id"]
        winner = byaddr[d.get(f"/q/market/leases/{lease2}")["lease"]["provider"]]
        assert winner is p_unaud, "no audit required here: the cheapest provider wins"
        url = f"{winner.endpoint}/v1/leases/{lease2}/manifest"
        wait_for("the provider to hold the lease",
                 lambda: json.loads(urllib.request.urlopen(winner.endpoint + "/health").read())["active_leases"] >= 1)
        dry = d.cli_json("deploy", "send-manifest", order2, svc, "--from", "alice", "--dry-run")["request"]
        status, body = http("POST", url, {"manifest": dry["manifest"]})
        assert status == 401 and "must be signed" in body["message"], (status, body)
        print(f"ok: unsigned manifest -> {status} {body['message']}")
        tampered = json.loads(json.dumps(dry))
        tampered["manifest"]["services"]["ticker"]["env"] = {"EVIL": "1"}
        status, body = http("POST", url, tampered)
        assert status == 401 and "does not verify" in body["message"], (status, body)
        print(f"ok: manifest changed after signing -> {status} {body['message'][:60]}")
        bob_dry = d.cli_json("deploy", "send-manifest", order2, svc, "--from", "bob", "--dry-run")["request"]
        forged = dict(dry, pubkey=bob_dry["pubkey"], signature=bob_dry["signature"])
        status, body = http("POST", url, forged)
        assert status == 401 and "does not belong to owner" in body["message"], (status, body)
        status, body = http("POST", url, bob_dry)
        assert status == 403 and "only the lease owner" in body["message"], (status, body)
        print(f"ok: forged (bob's key claiming alice) -> 401; bob as himself -> 403 {body['message'][:50]}")
        expect_cli_fail(d, ["deploy", "send-manifest", order2, other, "--from", "alice"], "differs from order")
        expect_cli_fail(d, ["deploy", "send-manifest", order2, other, "--from", "alice", "--force"],
                        "does not match the order's manifest_hash")
        status, body = http("GET", f"{winner.endpoint}/v1/leases/{lease2}")
        assert status == 401 and "X-Depai-Signature" in body["message"], (status, body)
        print("ok: reads without the owner's signature -> 401")
        sent = d.cli_json("deploy", "send-manifest", order2, svc, "--from", "alice")
        assert sent["status"] == "started", sent
        again = d.cli_json("deploy", "send-manifest", order2, svc, "--from", "alice")
        assert again["status"] == "already received", again

        # ---- provider restart: still serves the lease, the service process is adopted ------------
        st = wait_for("service running", lambda: (lambda s: s if s["workload_state"] == "running" and "tick" in
                                                  d.cli("deploy", "logs", order2, "--from", "alice",
                                                        json_out=False).stdout else None)(
            d.cli_json("deploy", "status", order2, "--from", "alice")), 20)
        pid = st["services"][0]["pid"]
        winner.kill9()
        expect_cli_fail(d, ["deploy", "status", order2, "--from", "alice"], "cannot reach the provider")
        winner.start()
        st = d.cli_json("deploy", "status", order2, "--from", "alice")
        assert st["workload_state"] == "running" and st["services"][0]["pid"] == pid, st
        res = d.cli_json("deploy", "results", order1, "--from", "alice", "--out", resdir + "2")  # lease 1's host
        assert res["artifacts"][0]["verified"]
        print(f"ok: provider killed -9 and restarted: lease {lease2} still served, service pid {pid} adopted")

        # ---- provider dies: the buyer closes and redeploys elsewhere ------------------------------
        winner.kill9()
        d.cli_json("deploy", "close", order2, "--from", "alice", "--yes")
        assert d.get(f"/q/market/leases/{lease2}")["lease"]["close_reason"] == "CLOSE_REASON_OWNER"
        # The redeployment funds only a few blocks: low balance -> exhausted -> grace -> closed.
        small = write_spec(work, "small.yaml", svc_yaml.replace("deposit: 400000udpai", "deposit: 16800udpai"))
        h_redeploy = int(d.get("/status")["latest_block_height"])
        e0, t0 = d.balance(escrow_acct), d.balance(treasury) + d.balance(pool)
        out = d.cli_json("deploy", "create", small, "--from", "alice", "--wait", "--yes")
        order3, lease3 = out["order_id"], out["lease_id"]
        assert out["provider"] in (p_dear.address, p_cheap.address), out
        assert out["provider"] != winner.address
        print(f"ok: redeployed as order {order3} on {byaddr[out['provider']].name} (the dead provider did not bid)")
        p3 = byaddr[out["provider"]]
        wait_for("service running on the new provider", lambda: d.cli_json(
            "deploy", "status", order3, "--from", "alice")["workload_state"] == "running", 20)

        def closed_insufficient():
            l = d.get(f"/q/market/leases/{lease3}")["lease"]
            return l if l["state"] == "LEASE_STATE_CLOSED" else None
        l3 = wait_for("insufficient-funds close", closed_insufficient, 60)
        assert l3["close_reason"] == "CLOSE_REASON_INSUFFICIENT_FUNDS", l3
        kinds = {e["type"] for t in ("market.escrow_low_balance", "market.escrow_exhausted")
                 for e in d.events(t, h_redeploy) if e["attributes"].get("lease_id") == lease3}
        assert kinds == {"market.escrow_low_balance", "market.escrow_exhausted"}, kinds
        st = wait_for("workload stopped", lambda: (lambda s: s if s["workload_state"] == "stopped" else None)(
            d.cli_json("deploy", "status", order3, "--from", "alice")), 10)
        esc = d.get(f"/q/market/leases/{lease3}")["escrow"]
        rate = int(l3["price_per_block"])
        take = rate * TAKE_BPS // 10000
        funded = 16800 // rate
        assert rate == 210 and int(esc["paid_to_provider"]) == funded * (rate - take), (rate, esc)
        assert int(esc["paid_take_fee"]) == funded * take and int(esc["balance"]) == 0, esc
        assert d.balance(treasury) + d.balance(pool) - t0 == funded * take
        assert d.balance(escrow_acct) == e0, "escrow module balance must return to where it was"
        print(f"ok: lease {lease3}: {funded} funded blocks at {rate}udpai: provider earned {funded * (rate - take)}, "
              f"treasury +{funded * take}, escrow back to {e0}")
        print(f"ok: escrow ran low -> low_balance and exhausted events, grace until {l3['grace_until']}, closed "
              f"INSUFFICIENT_FUNDS at {l3['closed_height']}; {p3.name} stopped the workload")

        # The killed provider comes back: the lease closed meanwhile, so it stops the orphaned service.
        winner.start()
        wait_for("orphan stopped", lambda: not os.path.exists(f"/proc/{pid}") or
                 open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z"), 15)
        print(f"ok: {winner.name} restarted after its lease was closed and stopped the orphaned process")

        # ---- bids the chain rejects ----------------------------------------------------------
        plat = write_spec(work, "platinum.yaml", """version: "1"
services: {job: {command: ["true"]}}
resources: {cpu_millicores: 100, memory_mib: 64}
placement: {attributes: {tier: platinum}}
pricing: {max_price_per_block: 30udpai, deposit: 10000udpai, bid_window: 1000, auto_select: false}
""")
        order4 = d.cli_json("deploy", "create", plat, "--from", "alice", "--yes")["order_id"]
        expect_cli_fail(d, ["tx", "market", "bid", "frank", order4, "10udpai", "--yes"], "tier")
        # 21 platinum providers: 20 bids fit, the 21st is refused; one bid above the max price too.
        names = [f"plat{i:02d}" for i in range(21)]
        addrs = [d.cli_json("keys", "add", n)["address"] for n in names]
        d.cli_json("tx", "bank", "multi-send", "alice", ",".join(addrs), "2000000udpai", "--yes", "--gas", "2000000",
                   "--fees", "200udpai")
        procs = [subprocess.Popen([d.binary, "tx", "provider", "register", n, "--endpoint", "http://127.0.0.1:9",
                                   "--attr", "tier=platinum", "--cpu", "1000", "--memory-mib", "1024",
                                   "--collateral", "1000000udpai", "--yes", "--home", d.home, "--node", d.node,
                                   "-b", "sync"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in names]
        for p in procs:
            assert p.wait(timeout=60) == 0, p.stderr.read()
        wait_for("21 registrations", lambda: sum(1 for p in d.get("/q/provider/providers")["providers"]
                                                 if p["owner"] in addrs) == 21, 20)
        expect_cli_fail(d, ["tx", "market", "bid", names[0], order4, "31udpai", "--yes"], "above the order's max price")
        procs = [subprocess.Popen([d.binary, "tx", "market", "bid", n, order4, "20udpai", "--yes", "--home", d.home,
                                   "--node", d.node, "-b", "sync"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for n in names[:20]]
        for p in procs:
            assert p.wait(timeout=60) == 0, p.stderr.read()
        wait_for("20 bids", lambda: len(d.get(f"/q/market/orders/{order4}/bids")["bids"]) == 20, 20)
        expect_cli_fail(d, ["tx", "market", "bid", names[20], order4, "20udpai", "--yes"], "already has 20 bids")
        assert len(d.get(f"/q/market/orders/{order4}/bids")["bids"]) == 20
        d.cli_json("deploy", "close", order4, "--from", "alice", "--yes")
        print("ok: ineligible bid, bid above max price and 21st bid rejected")

        assert supply(d) == supply0, "total supply changed"
        print(f"ok: total supply unchanged at {supply0}udpai; test took {time.time() - t_start:.0f}s")
        ok = True
    finally:
        for p in providers:
            p.stop()
            p.kill_workloads()
        d.stop()
        if not ok:
            for p in providers:
                print(f"---- {p.name} log ----\n{p.log()}")
            print(f"---- devnet log ----\n{d.log()}")
            print(f"(kept {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
