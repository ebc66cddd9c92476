#!/usr/bin/env python3
"""Machine economy, part 1 (x/identity): a robot's identity and its manufacturer's attestation.

run(d, keys) drives a running devnet through the CLI and the HTTP API as a user would:
- dave, the manufacturer, registers as a device attester with a bond (held by module:identity);
- a robot key is created (`depai keys add robot`); its owner bob creates the robot's DID with the
  robot key as initial key (the DID is did:depai:hex(address of the key), printed by the CLI),
  allowing the owner's agent wallet (keys["wallet"], when given) to link to it;
- dave signs the device statement off-chain (`depai identity sign-attestation`) and bob submits
  it; `GET /1.0/identifiers/{did}` resolves the W3C document with the attestation;
- an attestation signed by an unregistered key is refused, and so is a registered attester's
  statement forged with another key; neither leaves a trace (the resolution, the attesters and
  bob's balance but the fee are unchanged);
- a provider links its own DID; an order with --require-attested refuses its bid while its DID is
  unattested, and takes it once dave has attested the provider's device key;
- resolution errors: an unknown DID is 404 notFound, a malformed one 400 invalidDid.
Returns {"robot_did": ..., "robot_key": ...}. Run alone: python3 me_identity.py --depai PATH.
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

BOND = 100_000_000  # x/identity params.attester_bond default (100 DPAI)
FEE = 10


def wait_for(what, fn, timeout=30, interval=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def tx(d, *args):
    r = d.cli_json("tx", *args, "--yes")
    assert r["code"] == 0, r
    return r


def refused(d, *args):
    r = d.cli("tx", *args, "--yes", check=False)
    out = r.stderr + r.stdout
    assert r.returncode != 0, out
    return out


def resolve(d, did):
    return d.request("GET", "/1.0/identifiers/" + did)


def create_did(d, key, owner, extra=()):
    r = d.cli("tx", "identity", "create-did", "--key", key, "--from", owner, *extra, "--yes", json_out=False)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("did: ")]
    assert lines, r.stdout + r.stderr
    return lines[-1][5:].strip()


def sign(d, maker_key, did, device_key, model, serial):
    r = d.cli("identity", "sign-attestation", "--key", maker_key, "--did", did, "--device-key", device_key,
              "--model", model, "--serial", serial, json_out=False)
    return r.stdout.strip()


def run(d, keys):
    maker, owner, buyer = "dave", "bob", "alice"
    provider = "erin" if "erin" in keys else "carol"
    for n in (maker, owner, buyer, provider):
        assert n in keys, f"the devnet needs key {n}: {sorted(keys)}"
    module_addr = None

    # ---- the manufacturer registers, bonded --------------------------------------------------
    attesters = d.get("/q/identity/attesters")["attesters"]
    if not any(a["owner"] == keys[maker] for a in attesters):
        bal = d.balance(keys[maker])
        tx(d, "identity", "register-attester", "--name", "Acme Robotics", "--bond", f"{BOND}udpai", "--from", maker)
        assert d.balance(keys[maker]) == bal - BOND - FEE, (bal, d.balance(keys[maker]))
    att = [a for a in d.get("/q/identity/attesters")["attesters"] if a["owner"] == keys[maker]][0]
    assert att["active"] is True and att["bond"] == str(BOND), att
    print(f"ok: {maker} registered as attester, bond {att['bond']}udpai")

    # ---- the robot's key and DID --------------------------------------------------------------
    robot = json.loads(d.cli("keys", "add", "robot").stdout)
    robot_key = robot["pubkey"] if "pubkey" in robot else robot.get("pub_key", "")
    extra = []
    if keys.get("wallet"):
        extra = ["--account", keys["wallet"]]
    did = create_did(d, "robot", owner, extra)
    assert did.startswith("did:depai:") and len(did) == 50, did
    st, res = resolve(d, did)
    assert st == 200, (st, res)
    doc = res["didDocument"]
    assert doc["id"] == did and doc["controller"] == keys[owner], doc
    assert doc["verificationMethod"][0]["id"] == did + "#key-1", doc
    assert doc["verificationMethod"][0]["publicKeyJwk"]["crv"] == "Ed25519", doc
    assert doc["authentication"] == [did + "#key-1"], doc
    if keys.get("wallet"):
        assert doc.get("alsoKnownAs") == ["depai:account:" + keys["wallet"]], doc
    print(f"ok: {owner} created the robot's DID {did}")

    # ---- the manufacturer's attestation, signed off-chain ----------------------------------------
    model, serial = "DeliveryDrone X2", "SN-2026-000123"
    sig = sign(d, maker, did, "robot", model, serial)
    assert len(sig) == 128, sig
    tx(d, "identity", "attest-device", "--did", did, "--model", model, "--serial", serial, "--attester", maker,
       "--signature", sig, "--from", owner)
    st, res = resolve(d, did)
    assert st == 200, (st, res)
    atts = res["didDocumentMetadata"]["attestations"]
    assert len(atts) == 1 and atts[0]["attester"] == keys[maker] and atts[0]["model"] == model, atts
    assert atts[0]["serial"] == serial and atts[0]["counts"] is True, atts
    assert atts[0]["device_key_id"] == did + "#key-1", atts
    print(f"ok: {maker}'s attestation ({model} / {serial}) verified on chain and resolved")

    # ---- cheating: an unregistered key, and a forgery under the registered attester --------------
    d.cli("keys", "add", "fake-maker")
    before_doc = resolve(d, did)[1]
    before_att = d.get("/q/identity/attesters")
    bal = d.balance(keys[owner])
    fake = sign(d, "fake-maker", did, "robot", model, "SN-FAKE")
    out = refused(d, "identity", "attest-device", "--did", did, "--model", model, "--serial", "SN-FAKE",
                  "--attester", "fake-maker", "--signature", fake, "--from", owner)
    assert "is not registered" in out, out
    out = refused(d, "identity", "attest-device", "--did", did, "--model", model, "--serial", "SN-FAKE",
                  "--attester", maker, "--signature", fake, "--from", owner)
    assert "does not verify under attester " + keys[maker] in out, out
    assert resolve(d, did)[1] == before_doc
    assert d.get("/q/identity/attesters") == before_att
    spent = bal - d.balance(keys[owner])
    assert spent in (0, FEE, 2 * FEE), spent  # at most the fees: refused in CheckTx or in the block
    print("ok: an attestation by an unregistered key and a forged one are refused and leave no trace")

    # ---- a provider links its own DID; require_attested ---------------------------------------------
    paddr = keys[provider]
    st, _ = d.request("GET", "/q/provider/providers/" + paddr)
    if st != 200:
        tx(d, "provider", "register", provider, "--endpoint", "https://127.0.0.1:9", "--region", "eu-west",
           "--cpu", "8000", "--memory-mib", "16384", "--collateral", "5000000udpai")
    pdid = create_did(d, provider, provider)
    tx(d, "identity", "link-did", "--did", pdid, "--from", provider)
    link = d.get("/q/identity/link/" + paddr)
    assert link["did"] == pdid and link["attested"] is False, link
    spec = os.path.join(d.home, "me-identity-order.json")
    with open(spec, "w") as f:
        json.dump({"groups": [{"name": "main", "count": 1, "units": {"cpu_millicores": 500, "memory_mib": 256}}],
                   "max_price_per_block": "100udpai", "bid_window_blocks": 200, "deposit": "100000udpai",
                   "manifest_hash": "cd" * 32, "auto_select": False}, f)
    before = {o["id"] for o in d.get(f"/q/market/orders?owner={keys[buyer]}")["orders"]}
    tx(d, "market", "create-order", buyer, "--spec-json", spec, "--require-attested")
    order = wait_for("the order", lambda: [o["id"] for o in d.get(f"/q/market/orders?owner={keys[buyer]}")["orders"]
                                           if o["id"] not in before])[-1]
    assert d.get(f"/q/market/orders/{order}")["order"]["require_attested"] is True
    out = refused(d, "market", "bid", provider, order, "50udpai")
    want = f"order {order} requires an attested device: provider {paddr} has no attested DID"
    assert want in out, out
    print(f"ok: order {order} (require_attested) refused {provider}'s bid: {want}")
    psig = sign(d, maker, pdid, provider, "EdgeBox G1", "EB-0001")
    tx(d, "identity", "attest-device", "--did", pdid, "--model", "EdgeBox G1", "--serial", "EB-0001",
       "--attester", maker, "--signature", psig, "--from", provider)
    assert d.get("/q/identity/link/" + paddr)["attested"] is True
    tx(d, "market", "bid", provider, order, "50udpai")
    bids = d.get(f"/q/market/orders/{order}/bids")["bids"]
    assert any(b["provider"] == paddr for b in bids), bids
    tx(d, "market", "close-order", buyer, order)
    print(f"ok: once attested, {provider}'s bid on order {order} is accepted")

    # ---- resolution errors ----------------------------------------------------------------------------
    st, res = resolve(d, "did:depai:" + "0" * 40)
    assert st == 404 and res["didResolutionMetadata"]["error"] == "notFound" and res["didDocument"] is None, (st, res)
    st, res = resolve(d, "did:depai:XYZ")
    assert st == 400 and res["didResolutionMetadata"]["error"] == "invalidDid", (st, res)
    q = d.cli_json("query", "identity", "did", did)
    assert q["didDocument"]["id"] == did, q
    print("ok: resolution answers 404 notFound and 400 invalidDid")
    del module_addr
    return {"robot_did": did, "robot_key": robot_key}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="depai-me-identity-")
    d = Depai(args.depai, os.path.join(root, "chain"))
    os.makedirs(d.home)
    ok = False
    try:
        d.cli_json("devnet", "init", "--accounts", "5")
        keys = {k["name"]: k["address"] for k in d.cli_json("keys", "list")}
        d.start(block_time="200ms")
        out = run(d, keys)
        print("result:", json.dumps(out))
        ok = True
    finally:
        d.stop()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print("devnet log tail:\n" + d.log(), file=sys.stderr)
            print("kept " + root, file=sys.stderr)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
