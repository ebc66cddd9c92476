#!/usr/bin/env python3
"""Functional test: x/verify end to end with real processes (issue 10, "Done means").

A devnet (200 ms blocks, short verify epochs patched into genesis), 3 `depai provider run`
daemons and 4 checkers (3 `depai checker run` daemons and one always-pass cheat driven through
`depai tx verify attest`), buyers with SLA leases:
  - p-honest: builtin prover; passes its compute and liveness challenges and keeps its lease;
    the honest checkers are paid exactly reward_per_attestation per agreeing attestation.
  - p-slow: claims 8 GPUs, its prover (a script around `depai verify prove`) sleeps past the
    deadline -> REASON_ROOT_LATE with a readable reason, exact slash, exact buyer refund, lease
    closed UNSTABLE.
  - p-wrong: its prover corrupts a fraction of the rows -> REASON_FREIVALDS ("row N fails
    Freivalds"), slash, refund, UNSTABLE. A dispute of one of its wrong rows (opening fetched from
    its endpoint) slashes the always-pass checker's bond; that checker is not paid for
    disagreeing and is banned after its second disagreement.
  - p-honest later goes offline (kill -9) -> liveness REASON_OFFLINE, downtime slash, refund.
  - an honest provider failed by two lying checkers appeals (its daemon does it) and is restored
    (verify.overturned, reputation_before restored). An appeal needs a fresh quorum outside the
    original one, so three more checker daemons join for this part.
  - a new SLA lease on p-honest, then p-honest is killed -9: the SLA breach slashes for downtime.
Checkers survive kill -9 without attesting twice.

"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depai_harness import DaemonProcess, Depai, free_port  # noqa: E402


# Short epochs and windows so that a few challenge rounds fit in the test (patched into genesis;
# the names are Params fields of proto/depai/verify/v1/verify.proto).
VERIFY_PARAMS = {
    "quorum": 3,
    "epoch_blocks": "10",
    "compute_every_epochs": 1,
    "min_checker_bond": "1000000",
    "attest_window": "8",
    "probe_window": "4",
    "sample_rows": 8,
    "freivalds_rounds": 2,
    "target_prove_ms": "200",
    "min_n": 64,
    "max_n": 256,
    "slack_bps": 30000,
    "base_blocks": "4",
    "block_ms": "200",
    "max_latency_ms": 1000,
    "appeal_window": "20",
    "strike_window": "1000",
    "strikes_to_ban": 2,
    "ban_blocks": "1000",
    "sla_window_blocks": "20",
    # the rest as x/verify's defaults (genesis params replace the defaults as a whole)
    "gpu_throughput": [{"model": "h200", "ops_per_ms": "4500000000"}, {"model": "h100", "ops_per_ms": "4000000000"},
                       {"model": "a100", "ops_per_ms": "2000000000"}],
    "cpu_ops_per_ms_per_core": "1000000",
    "reputation_alpha_bps": 2000,
    "reputation_prior_bps": 5000,
    "slash_downtime_bps": 1000,
    "slash_deception_bps": 5000,
    "reward_per_attestation": "1000",
    "checker_slash_bps": 1000,
    "dispute_gas": "500000",
    "checker_unbonding_blocks": "100",
}


def http_json(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def wait_for(what, fn, timeout=60, interval=0.3):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


def patch_genesis(home, params):
    path = os.path.join(home, "config", "genesis.json")
    with open(path) as f:
        g = json.load(f)
    v = g.setdefault("app_state", {}).setdefault("verify", {})
    v.setdefault("params", {}).update(params)
    with open(path, "w") as f:
        json.dump(g, f, indent=1)


PROVER_SLOW = """#!/bin/sh
# A prover that claims more hardware than it has: correct, but too late.
sleep {sleep}
exec {depai} verify prove "$@"
"""

PROVER_WRONG = """#!/usr/bin/env python3
# A prover that returns a wrong product for a fraction of its rows.
import subprocess, sys
args = sys.argv[1:]
out = args[args.index("--out") + 1]
n = int(args[args.index("--n") + 1])
subprocess.run(["{depai}", "verify", "prove"] + args, check=True, stdout=subprocess.DEVNULL)
with open(out, "r+b") as f:
    data = bytearray(f.read())
    for row in range(0, n, {every}):   # every {every}th row: its first entry + 1 mod p
        v = int.from_bytes(data[row * n * 4: row * n * 4 + 4], "little")
        data[row * n * 4: row * n * 4 + 4] = ((v + 1) % 8380417).to_bytes(4, "little")
    f.seek(0)
    f.write(data)
"""


class Provider(DaemonProcess):
    def __init__(self, d, name, key, root, prover="builtin", gpus=""):
        self.d, self.name, self.key = d, name, key
        self.home = os.path.join(root, name)
        os.makedirs(self.home, exist_ok=True)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(self.home, "provider.toml")
        gpu_lines = ""
        if gpus:
            gpu_lines = f'gpus = [{{vendor = "nvidia", model = "h100", count = {gpus}, vram_mib = 81920}}]\n'
        with open(self.config, "w") as f:
            f.write(f"""node = "{d.node}"
key = "{key}"
keyring_home = "{d.home}"
listen = "127.0.0.1:{self.port}"
[provider]
region = "eu-west"
[inventory]
cpu_millicores = 4000
memory_mib = 8192
{gpu_lines}[pricing]
per_cpu_core = 100
per_memory_gib = 10
{('per_gpu = {h100 = 1000}' if gpus else '')}
[daemon]
poll_interval_ms = 150
[sandbox]
mode = "none"
[verify]
prover = "{prover}"
""")
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
                st, h = http_json(self.endpoint + "/health", timeout=2)
                if st == 200:
                    self.address = h["provider"]
                    return
            except Exception:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not come up:\n{self.log()}")



class Checker(DaemonProcess):
    def __init__(self, d, name, key, root):
        self.d, self.name, self.key = d, name, key
        self.home = os.path.join(root, name)
        os.makedirs(self.home, exist_ok=True)
        self.config = os.path.join(self.home, "checker.toml")
        with open(self.config, "w") as f:
            f.write(f"""node = "{d.node}"
key = "{key}"
keyring_home = "{d.home}"
[checker]
poll_interval_ms = 150
start_height = 1
probe_timeout_ms = 2000
""")
        self.proc = None
        self.log_path = os.path.join(self.home, "checker.log")

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([self.d.binary, "checker", "run", "--home", self.home, "--config", self.config],
                                     stdout=log, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.log()}")

    def status(self):
        r = subprocess.run([self.d.binary, "checker", "status", "--home", self.home, "--output", "json"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)



class LyingChecker(threading.Thread):
    """A checker that attests `verdict` on every challenge assigned to it, without looking."""

    def __init__(self, d, key, address, verdict="pass", only_provider=None, only_kind=None, with_quorum=None,
                 max_lies=0):
        super().__init__(daemon=True)
        self.d, self.key, self.address, self.verdict, self.only = d, key, address, verdict, only_provider
        self.only_kind, self.with_quorum, self.max_lies = only_kind, set(with_quorum or []), max_lies
        self.done, self.stop_flag, self.lies = set(), False, 0

    def run(self):
        while not self.stop_flag:
            try:
                st, body = self.d.request("GET", f"/q/verify/challenges?checker={self.address}&open=true")
                for c in body.get("challenges", []) if st == 200 else []:
                    cid = c["id"]
                    if cid in self.done or (self.only and c["provider"] != self.only):
                        continue
                    if self.only_kind and c.get("kind") != self.only_kind:
                        continue
                    if c.get("state") != "CHALLENGE_STATE_AWAITING_ATTESTATIONS":
                        continue  # compute: attestations open once the root is posted
                    if not self.with_quorum <= set(c.get("quorum", [])):
                        continue
                    # This liar's own daemon (before it was stopped) or a colluder that already
                    # attested the other way spoils this challenge: wait for the next.
                    lie = self.verdict == "pass"
                    atts = c.get("attestations", [])
                    if any(a.get("checker") == self.address or
                           (a.get("checker") in self.with_quorum and bool(a.get("pass", False)) != lie) for a in atts):
                        self.done.add(cid)
                        continue
                    if self.max_lies and self.lies >= self.max_lies:
                        return
                    flag = "--pass" if self.verdict == "pass" else "--fail"
                    args = ["tx", "verify", "attest", self.key, cid, flag, "--yes"]
                    if self.verdict == "fail":
                        args += ["--reason-code", "freivalds", "--failing-row", "0", "--reason", "row 0 fails Freivalds"]
                    r = self.d.cli(*args, check=False)
                    if r.returncode == 0 or "sequence mismatch" not in r.stderr:
                        self.done.add(cid)
                    if r.returncode == 0:
                        self.lies += 1  # only a lie that landed counts towards max_lies
                    err = r.stderr.strip().splitlines()
                    why = f": {err[-1][:200]}" if r.returncode != 0 and err else ""
                    print(f"  liar {self.key}: attested {self.verdict} on challenge {cid}: rc={r.returncode}{why}")
            except Exception as e:  # keep lying
                print(f"  liar {self.key}: {e}")
            time.sleep(0.3)


def verdicts_of(d, provider):
    return d.get(f"/q/verify/history/{provider}")["verdicts"]  # newest first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="depai-verify-")
    d = Depai(args.depai, os.path.join(root, "chain"))
    os.makedirs(d.home)
    procs = []
    ok = False
    try:
        d.cli_json("devnet", "init", "--accounts", "10")
        patch_genesis(d.home, VERIFY_PARAMS)
        keys = {k["name"]: k["address"] for k in d.cli_json("keys", "list")}
        d.start(block_time="200ms")
        st, _ = d.request("GET", "/q/verify/params")
        assert st == 200, "x/verify params are not queryable (/q/verify/params -> %d)" % st
        params = d.get("/q/verify/params")
        params = params.get("params", params)
        reward = int(params["reward_per_attestation"])
        print(f"ok: devnet up; verify params {json.dumps(params)[:200]}...")

        # ---- checkers: three honest daemons, one always-pass liar ----------------------------
        for k in ("frank", "grace", "heidi", "ivan"):
            d.cli_json("tx", "verify", "register-checker", k, "2000000udpai", "--yes")
        checkers = [Checker(d, f"checker-{k}", k, root) for k in ("frank", "grace", "heidi")]
        for c in checkers:
            c.start()
            procs.append(c)
        liar = LyingChecker(d, "ivan", keys["ivan"], "pass")
        liar.start()
        listed = d.get("/q/verify/checkers")["checkers"]
        assert len(listed) == 4, listed
        print("ok: 4 checkers registered")

        # ---- providers ----------------------------------------------------------------------
        scripts = os.path.join(root, "provers")
        os.makedirs(scripts)
        slow = os.path.join(scripts, "slow.sh")
        with open(slow, "w") as f:
            f.write(PROVER_SLOW.format(sleep=30, depai=args.depai))
        wrong = os.path.join(scripts, "wrong.py")
        with open(wrong, "w") as f:
            f.write(PROVER_WRONG.format(depai=args.depai, every=4))
        for s in (slow, wrong):
            os.chmod(s, 0o755)
        p_honest = Provider(d, "p-honest", "carol", root)
        p_slow = Provider(d, "p-slow", "dave", root, prover=slow, gpus=8)
        p_wrong = Provider(d, "p-wrong", "erin", root, prover=wrong)
        providers = [p_honest, p_slow, p_wrong]
        for p in providers:
            p.start()
            procs.append(p)
        print("ok: 3 providers up")

        # ---- buyers with SLA leases ---------------------------------------------------------
        leases = {}

        def sla_lease(buyer, p, tag):
            spec = os.path.join(root, f"order-{buyer}-{tag}.json")
            with open(spec, "w") as f:
                json.dump({"groups": [{"name": "main", "count": 1,
                                       "units": {"cpu_millicores": 500, "memory_mib": 256}}],
                           "max_price_per_block": "1000udpai", "bid_window_blocks": 50, "deposit": "500000udpai",
                           "manifest_hash": "ab" * 32, "auto_select": False}, f)
            before = {o["id"] for o in d.get(f"/q/market/orders?owner={keys[buyer]}")["orders"]}
            d.cli_json("tx", "market", "create-order", buyer, "--spec-json", spec, "--sla-uptime-bps", "9892",
                       "--sla-max-latency-ms", "1000", "--yes")
            order = wait_for("order id", lambda: [o["id"] for o in d.get(f"/q/market/orders?owner={keys[buyer]}")[
                "orders"] if o["id"] not in before])[-1]
            wait_for(f"bid of {p.name}", lambda: any(b["provider"] == p.address for b in
                                                     d.get(f"/q/market/orders/{order}/bids")["bids"]))
            d.cli_json("tx", "market", "create-lease", buyer, order, p.address, "--yes")
            lease_id = wait_for("lease", lambda: d.get(f"/q/market/orders/{order}")["order"].get("lease_id"))
            o = d.get(f"/q/market/orders/{order}")["order"]
            assert o.get("sla", {}).get("min_uptime_bps") == 9892, o
            return lease_id

        for buyer, p in (("alice", p_honest), ("bob", p_slow), ("judy", p_wrong)):
            leases[p.name] = sla_lease(buyer, p, "1")
        print(f"ok: SLA leases {leases}")

        # ---- 1. the honest provider passes; honest checkers paid exactly ----------------------
        def passed_compute(p):
            return [v for v in verdicts_of(d, p.address) if v["kind"] == "CHALLENGE_KIND_COMPUTE" and v.get("pass")]
        wait_for("a passed compute verdict for p-honest", lambda: passed_compute(p_honest), timeout=120)
        lease = d.get(f"/q/market/leases/{leases['p-honest']}")["lease"]
        assert lease["state"] != "LEASE_STATE_CLOSED", lease
        # Checkers are paid as verdicts settle, in any block: read their records within one height
        # (the height before and after them the same), and the payment events up to that height.
        def checker_recs():
            recs = {}
            for c in checkers:
                rec = d.get(f"/q/verify/checkers/{keys[c.key]}")
                recs[keys[c.key]] = rec.get("checker", rec)
            return recs
        h0, recs = d.at_one_height(checker_recs)
        paid = d.events("verify.checker_paid", to=h0)
        for c in checkers:
            addr = keys[c.key]
            mine = [int(e["attributes"]["amount"]) for e in paid if e["attributes"]["checker"] == addr]
            rec = recs[addr]
            assert int(rec.get("rewards", "0")) == sum(mine) == reward * len(mine), (rec, mine)
        print("ok: honest provider passes and keeps its lease; checkers paid exactly")

        # ---- 2. over-claimed hardware misses the deadline --------------------------------------
        def failed(p, code):
            return [v for v in verdicts_of(d, p.address) if not v.get("pass") and v.get("reason_code") == code]
        late = wait_for("ROOT_LATE for p-slow", lambda: failed(p_slow, "REASON_ROOT_LATE"), timeout=120)[-1]
        assert "deadline" in late["reason"] and "h100" in late["reason"], late
        check_slash_refund_unstable(d, late, leases["p-slow"])
        print(f"ok: p-slow caught: {late['reason']}")

        # ---- 3. a wrong product fails Freivalds; the always-pass checker's pass is disputed -------
        def liar_passed_pending(skip=()):
            for v in failed(p_wrong, "REASON_FREIVALDS"):
                if v["id"] not in skip and v.get("state") == "VERDICT_STATE_PENDING" and any(
                        m["checker"] == keys["ivan"] and m.get("pass") for m in v.get("measurements", [])):
                    return v
            return None
        # The appeal window is 20 blocks (4 s): on a loaded machine the verdict can settle before
        # the dispute lands ("already settled"); then dispute the next pending one.
        disputed = set()
        for _ in range(4):
            target = wait_for("a pending FREIVALDS verdict on p-wrong the liar passed",
                              lambda: liar_passed_pending(disputed), timeout=180)
            disputed.add(target["id"])
            ch = d.get(f"/q/verify/challenges/{target['challenge_id']}")
            ch = ch.get("challenge", ch)
            wrong_row = next(int(r) for r in ch["sample_rows"] if int(r) % 4 == 0)
            # Only the provider and the quorum may dispute: an honest checker of this quorum does it.
            byaddr = {keys[c.key]: c.key for c in checkers}
            signer = next(byaddr[q] for q in ch["quorum"] if q in byaddr)
            # (the signer's daemon uses the same key: retry a sequence race)
            for attempt in range(5):
                r = d.cli("tx", "verify", "dispute", signer, target["challenge_id"], str(wrong_row), "--opening",
                          p_wrong.endpoint, "--yes", check=False)
                if r.returncode == 0 or "sequence mismatch" not in r.stderr:
                    break
                time.sleep(0.3)
            if r.returncode == 0 or "already settled" not in r.stderr:
                break
            print(f"note: verdict {target['id']} settled before the dispute landed; disputing the next one")
        assert r.returncode == 0, r.stderr
        slashed = wait_for("the liar's bond slashed",
                           lambda: [e for e in d.events("verify.checker_slashed")
                                    if e["attributes"].get("checker") == keys["ivan"]])
        print(f"ok: dispute of row {wrong_row} slashed the always-pass checker: {slashed[0]['attributes']}")
        bad = failed(p_wrong, "REASON_FREIVALDS")[-1]
        assert "fails Freivalds" in bad["reason"], bad
        check_slash_refund_unstable(d, bad, leases["p-wrong"])
        print(f"ok: p-wrong caught: {bad['reason']}")

        # ---- 4. the always-pass checker: unpaid for disagreeing, banned ---------------------------
        wait_for("the liar banned", lambda: [e for e in d.events("verify.checker_banned")
                                            if e["attributes"].get("checker") == keys["ivan"]], timeout=180)
        assert not [e for e in d.events("verify.checker_paid") if e["attributes"]["checker"] == keys["ivan"]
                    and e["attributes"].get("verdict_id") == bad["id"]]
        print("ok: the always-pass checker is unpaid for disagreeing and banned after its second disagreement")
        liar.stop_flag = True

        # ---- 5. kill -9 a checker: no double attestation ---------------------------------------
        c0 = checkers[0]
        c0.kill9()
        c0.start()
        time.sleep(3)
        st = c0.status()
        ids = [r["challenge_id"] for r in st["recent"] if "challenge_id" in r and not r.get("missed")]
        assert len(ids) == len(set(ids)), st["recent"]
        print("ok: a checker killed -9 resumes without attesting twice")

        # ---- 6. an appeal restores a wrongly failed provider -------------------------------------
        # An appeal needs a fresh quorum outside the original one: three more honest checkers.
        for name in ("x1", "x2", "x3"):
            addr = d.cli_json("keys", "add", name)["address"]
            keys[name] = addr
            d.cli_json("tx", "bank", "send", "alice", addr, "3000000udpai", "--yes")
            d.cli_json("tx", "verify", "register-checker", name, "2000000udpai", "--yes")
            c = Checker(d, f"checker-{name}", name, root)
            c.start()
            procs.append(c)
            checkers.append(c)
        # Two lying checkers fail p-honest's compute challenges; its daemon appeals; the fresh quorum
        # passes it.
        for k in ("grace", "heidi"):
            next(c for c in checkers if c.key == k).stop()
        # They lie once, together, on a challenge whose quorum holds both (a majority), so the honest
        # third checker takes one strike only.
        liars = [LyingChecker(d, k, keys[k], "fail", only_provider=p_honest.address, only_kind="CHALLENGE_KIND_COMPUTE",
                              with_quorum=[keys["grace"], keys["heidi"]], max_lies=1) for k in ("grace", "heidi")]
        for l in liars:
            l.start()
        wrongly = wait_for("a wrong FAIL for p-honest", lambda: [v for v in failed(p_honest, "REASON_FREIVALDS")
                                                                 if v["kind"] == "CHALLENGE_KIND_COMPUTE"],
                           timeout=240)[-1]
        for l in liars:
            l.stop_flag = True
        for k in ("grace", "heidi"):  # honest again: later quorums that hold them complete
            next(c for c in checkers if c.key == k).start()
        wait_for("the appeal", lambda: [e for e in d.events("verify.appeal")
                                        if e["attributes"].get("verdict_id") == wrongly["id"]])
        wait_for("overturned", lambda: [e for e in d.events("verify.overturned")
                                        if e["attributes"].get("verdict_id") == wrongly["id"]], timeout=180)
        v = d.get(f"/q/verify/verdicts/{wrongly['id']}")
        v = v.get("verdict", v)
        assert v["state"] == "VERDICT_STATE_OVERTURNED", v
        rep = d.get(f"/q/verify/reputation/{p_honest.address}")
        assert rep["bps"] >= v.get("reputation_before", 0), (rep, v)
        print("ok: the wrongly failed provider appealed and was restored")

        # ---- 7. an offline provider ---------------------------------------------------------
        # (the wrong verdict closed its lease; the appeal restored the slash, not the lease)
        leases["p-honest-2"] = sla_lease("bob", p_honest, "2")
        # Kill it between compute challenges: a provider that dies after committing a root but
        # before its rows are fetched has left an unverifiable root, which is a deception failure
        # (REASON_OPENING_MISSING) and would close the lease before any SLA window ends.
        def no_open_compute():
            return not [c for c in d.get(f"/q/verify/challenges?provider={p_honest.address}&open=true")["challenges"]
                        if c["kind"] == "CHALLENGE_KIND_COMPUTE"]
        wait_for("no open compute challenge of p-honest", no_open_compute, timeout=60, interval=0.05)
        p_honest.kill9()
        # A missed probe is a verdict; the SLA breach (uptime below min_uptime_bps in its window) is
        # the one that slashes for downtime.
        off = wait_for("an SLA breach of p-honest", lambda: [v for v in failed(p_honest, "REASON_OFFLINE")
                                                              if v.get("fault") == "FAULT_DOWNTIME"], timeout=180)[-1]
        check_slash_refund_unstable(d, off, leases["p-honest-2"], fault="FAULT_DOWNTIME")
        print(f"ok: offline provider caught: {off['reason']}")
        ok = True
        return 0
    finally:
        for p in procs:
            p.stop()
        d.stop()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root} for inspection")
            for p in procs:
                print(f"--- {p.name} log ---\n{p.log()}")
            print(f"--- devnet log ---\n{d.log()}")


def check_slash_refund_unstable(d, verdict, lease_id, fault="FAULT_DECEPTION"):
    """Exact slash (params x collateral), exact refund (from the slash, for the breached blocks),
    the rest to the treasury, and the lease closed UNSTABLE, once the verdict is final."""
    vid = verdict["id"]
    v = wait_for(f"verdict {vid} final", lambda: (lambda x: x if x.get("state") == "VERDICT_STATE_FINAL" else None)(
        (lambda y: y.get("verdict", y))(d.get(f"/q/verify/verdicts/{vid}"))), timeout=120)
    assert v["fault"] == fault, v
    params = d.get("/q/verify/params")
    params = params.get("params", params)
    bps = int(params["slash_deception_bps" if fault == "FAULT_DECEPTION" else "slash_downtime_bps"])
    # Collateral at the verdict: the registered 1000000udpai less the earlier verdicts' slashes.
    earlier = [x for x in verdicts_of(d, v["provider"]) if int(x["id"]) < int(vid)
               and x.get("state") != "VERDICT_STATE_OVERTURNED"]
    collateral_before = 1000000 - sum(int(x.get("slashed") or 0) for x in earlier)
    assert int(v["slashed"]) == collateral_before * bps // 10000, (v, collateral_before, earlier)
    refunds = sum(int(r["amount"]) for r in v.get("refunds", []))
    assert refunds + int(v["to_treasury"]) == int(v["slashed"]), v
    assert str(lease_id) in [str(x) for x in v.get("closed_leases", [])], v
    lease = d.get(f"/q/market/leases/{lease_id}")["lease"]
    assert lease["state"] == "LEASE_STATE_CLOSED" and lease["close_reason"] == "CLOSE_REASON_PROVIDER_UNSTABLE", lease
    # The buyer's refund: the lease's price for every breached block (capped by the slash), paid
    # to the lease's owner at finality.
    mine = [r for r in v["refunds"] if str(r["lease_id"]) == str(lease_id)]
    assert len(mine) == 1, v
    r = mine[0]
    start, price, vh = int(lease["start_height"]), int(lease["price_per_block"]), int(v["height"])
    assert int(r["to_height"]) == vh and int(r["from_height"]) >= start + 1, (r, lease)
    if fault == "FAULT_DECEPTION":
        ch = d.get(f"/q/verify/challenges/{v['challenge_id']}")
        ch = ch.get("challenge", ch)
        assert int(r["from_height"]) == max(start + 1, int(ch["created_height"])), (r, ch, lease)
    blocks = int(r["to_height"]) - int(r["from_height"]) + 1
    assert int(r["amount"]) == min(price * blocks, int(v["slashed"])), (r, price, blocks)
    assert r["owner"] == lease["owner"], (r, lease)
    paid = [e for e in d.events("verify.refund") if e["attributes"].get("verdict_id") == str(vid)
            and e["attributes"].get("lease_id") == str(lease_id)]
    assert len(paid) == 1 and int(paid[0]["attributes"]["amount"]) == int(r["amount"]) \
        and paid[0]["attributes"]["owner"] == lease["owner"], (paid, r)


if __name__ == "__main__":
    sys.exit(main())
