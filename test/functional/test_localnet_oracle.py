#!/usr/bin/env python3
"""Functional test: x/oracle on a 4-validator CometBFT localnet with vote extensions. Each
validator reads its own file source; the chain's price is their power-weighted median; one
validator reporting an outlier leaves the price within the confidence band; with one validator
down, prices still land; every node agrees on the app hash and answers the same price over the
CLI, the query path and the API route GET /oracle/price."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

E9 = 10**9


def rpc(i, path):
    with urllib.request.urlopen(f"http://127.0.0.{i + 1}:26657{path}", timeout=5) as r:
        return json.loads(r.read())["result"]


def status(i):
    try:
        s = rpc(i, "/status")["sync_info"]
        return int(s["latest_block_height"]), s["latest_app_hash"]
    except Exception:
        return None


def wait(pred, what, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.25)
    raise AssertionError("timed out waiting for " + what)


def api(i, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{1317 + i}{path}", timeout=10) as r:
        return json.loads(r.read())


def app_hash_at(i, h):
    return rpc(i, f"/block?height={h + 1}")["block"]["header"]["app_hash"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="depai-oracle-")
    net = os.path.join(d, "net")
    prices = [os.path.join(d, f"price{i}") for i in range(4)]

    def depai(*a, check=True):
        r = subprocess.run([args.depai, *a], capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"depai {' '.join(a)}: {r.stderr}{r.stdout}")
        return r

    def set_price(i, usd):
        tmp = prices[i] + ".tmp"
        with open(tmp, "w") as f:
            f.write(usd + "\n")
        os.replace(tmp, prices[i])

    def price(i):
        return api(i, "/oracle/price")

    try:
        for i, usd in enumerate(["1.00", "1.01", "1.02", "1.03"]):
            set_price(i, usd)
        srcs = []
        for p in prices:
            srcs += ["--oracle-source", "file:" + p]
        depai("localnet", "init", "--validators", "4", "--dir", net, "--timeout-commit", "300ms", *srcs)
        depai("localnet", "start", "--dir", net)
        wait(lambda: all((status(i) or (0,))[0] >= 3 for i in range(4)), "4 validators at height 3")

        # 1. The chain's price is the median of the four sources (lower weighted median, equal power).
        wait(lambda: all(price(i)["available"] and int(price(i)["reports"]) == 4 for i in range(4)),
             "an available price from 4 reports on every node")
        p = price(0)
        assert int(p["price_e9"]) == 1_010_000_000, p
        assert p["price"] == "1.010000000" and p["source"] == "vote_extensions", p
        assert int(p["power_bps"]) == 10000, p
        q = json.loads(depai("query", "oracle", "price", "--home", net, "--node", "http://127.0.0.1:26657",
                             "--output", "json").stdout)
        assert q["available"] and q["price_e9"] == "1010000000", q
        print(f"ok: chain price {p['price']} USD = the median of 1.00, 1.01, 1.02, 1.03 (4 reports, all power)")

        # 2. Validator 3 reports an outlier: the price stays within the confidence band.
        base = int(p["price_e9"])
        set_price(3, "100.0")
        h0 = int(price(0)["height"])
        wait(lambda: int(price(0)["height"]) >= h0 + 6, "six more rounds after the outlier")
        p = price(0)
        conf = int(p["conf_e9"])
        assert conf > 0, p
        assert abs(int(p["price_e9"]) - base) <= conf, (p, base)
        assert abs(int(p["ema_e9"]) - base) <= conf, (p, base)
        assert int(p["reports"]) == 4, p
        print(f"ok: validator 3 at 100 USD; price {p['price']} (ema {p['ema']}) stays within conf {p['conf']}")

        # 3. One validator down: 3 of 4 keep extending their votes and prices still land.
        depai("localnet", "stop", "--dir", net, "--node", "3")
        h1 = int(price(0)["height"])
        wait(lambda: int(price(0)["height"]) >= h1 + 5 and int(price(0)["reports"]) == 3,
             "rounds with 3 reports while validator 3 is down")
        p = price(0)
        assert p["available"], p
        assert int(p["price_e9"]) == 1_010_000_000, p  # median of 1.00, 1.01, 1.02
        assert int(p["power_bps"]) == 7500, p
        print(f"ok: validator 3 down; rounds of 3 reports still land (height {p['height']}, price {p['price']})")

        # 4. Every node agrees on the app hash (validator 3 restarted and caught up).
        depai("localnet", "start", "--dir", net, "--node", "3")
        target = status(0)[0] + 2
        wait(lambda: (status(3) or (0,))[0] >= target, "node3 catching up", timeout=150)
        hashes = {app_hash_at(i, target - 1) for i in range(4)}
        assert len(hashes) == 1, f"app hashes differ at {target - 1}: {hashes}"
        wait(lambda: len({json.dumps({k: price(i)[k] for k in ("price_e9", "ema_e9", "conf_e9", "height")})
                          for i in range(4)}) == 1, "the same price on every node's API")
        print(f"ok: all 4 nodes agree on the app hash at height {target - 1} and on the price")
        print("1 passed, 0 failed")
        return 0
    except Exception:
        for i in range(4):
            for log in ("app.log", "cometbft.log"):
                p = os.path.join(net, f"node{i}", log)
                if os.path.exists(p):
                    with open(p) as f:
                        print(f"--- node{i}/{log}\n" + f.read()[-2500:])
        raise
    finally:
        subprocess.run([args.depai, "localnet", "stop", "--dir", net, "--kill"], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
