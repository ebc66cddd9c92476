#!/usr/bin/env python3
"""Functional test: buyers' workloads run isolated on a provider with the sandbox on.

A devnet and one `depai provider run` (sandbox mode bwrap, the default; fake GPU device nodes).
A victim lease runs a long service holding a secret. A hostile buyer deploys:
  - hostile.py (exec): reads the provider's keyring, home, state and config, the daemon's
    /proc/<pid>/environ (a sentinel secret is in it), the victim's work directory; writes outside
    its lease; connects to the devnet API and the provider endpoint on loopback; calls mount,
    unshare and keyctl; leaves artifacts that are links to the keyring and to "/", and a hard link;
  - a fork bomb and an allocation past its memory, while the daemon must keep answering;
  - OCI images whose layers carry "../" names, absolute names, an absolute hard link, and a file
    through a symlink to "/": each is refused and nothing lands outside the image root;
  - a spec with ".." in a file name (refused by the CLI and by the provider's manifest check).
Then the route-optimization example runs with `exec` and as an OCI image built here (Python's own
tree, no registry), with equal route.json; an exposed `python3 -m http.server` answers its buyer
through the provider and refuses another account and unsigned requests; GPU leases get exactly
their device nodes, CUDA_VISIBLE_DEVICES, and keep their GPUs across a daemon restart.
"""
import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depai_harness import Depai  # noqa: E402
from oci_image import build_oci_archive  # noqa: E402
from test_market import Provider, http, wait_for, write_spec  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "route-optimization")
SENTINEL = "depai-sentinel-" + hashlib.sha256(str(time.time()).encode()).hexdigest()[:20]


def deploy(d, spec, who="alice", check=True):
    r = d.cli("deploy", "create", spec, "--from", who, "--wait", "--yes", check=False)
    if check and r.returncode != 0:
        raise AssertionError(f"deploy {spec} failed: {r.stderr}{r.stdout}")
    return (json.loads(r.stdout) if r.returncode == 0 else None), r


def status(d, order, who="alice"):
    return d.cli_json("deploy", "status", order, "--from", who)


def wait_state(d, order, states, timeout=60):
    return wait_for(f"order {order} in {states}",
                    lambda: (lambda s: s if s["workload_state"] in states else None)(status(d, order)), timeout)


def logs(d, order, stderr=False):
    args = ["deploy", "logs", order, "--from", "alice"] + (["--stderr"] if stderr else [])
    return d.cli(*args, json_out=False).stdout


def python_image_tree(stage, modules):
    """Copies the host's python3 with just the stdlib modules `modules` need into `stage`."""
    finder = ("import sys, importlib\n"
              f"for m in {modules!r}: importlib.import_module(m)\n"
              "import encodings.idna, encodings.utf_8, encodings.latin_1, encodings.ascii\n"
              "print('\\n'.join(sorted({getattr(m, '__file__', None) or '' for m in list(sys.modules.values())})))\n")
    out = subprocess.run(["/usr/bin/python3", "-c", finder], capture_output=True, text=True, check=True).stdout
    files = [f for f in out.split("\n") if f.startswith("/usr/lib/python3")]
    libs = ["/usr/bin/python3.11"]
    for line in subprocess.run(["ldd", "/usr/bin/python3.11"], capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        for p in parts:
            if p.startswith("/"):
                libs.append(p)
    for so in [f for f in files if f.endswith(".so")]:
        for line in subprocess.run(["ldd", so], capture_output=True, text=True).stdout.splitlines():
            libs += [p for p in line.split() if p.startswith("/")]

    def add(path):
        """Copies `path` into the stage, recreating every symlink met on the way."""
        parts = path.strip("/").split("/")
        cur = ""
        for i, comp in enumerate(parts):
            cur += "/" + comp
            dst = stage + cur
            if os.path.islink(cur):
                target = os.readlink(cur)
                if not os.path.lexists(dst):
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    os.symlink(target, dst)
                resolved = os.path.normpath(os.path.join(os.path.dirname(cur), target))
                rest = "/".join(parts[i + 1:])
                add(resolved + ("/" + rest if rest else ""))
                return
        if os.path.isfile(cur) and not os.path.exists(stage + cur):
            os.makedirs(os.path.dirname(stage + cur), exist_ok=True)
            shutil.copy2(cur, stage + cur)

    for f in sorted(set(files + libs)):
        add(f)
    for pkg in ("encodings", "json", "http", "email", "urllib", "collections", "importlib", "re", "ctypes"):
        d = f"/usr/lib/python3.11/{pkg}/__init__.py"
        if os.path.exists(d):
            add(d)
    os.makedirs(stage + "/usr/bin", exist_ok=True)
    if not os.path.lexists(stage + "/usr/bin/python3"):
        os.symlink("python3.11", stage + "/usr/bin/python3")
    for top, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        if not os.path.lexists(f"{stage}/{top}"):
            os.symlink(target, f"{stage}/{top}")


def tree_files(root):
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames + dirnames:
            out.add(os.path.join(dirpath, n))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depai", required=True)
    args = ap.parse_args()
    t_start = time.time()
    root = tempfile.mkdtemp(prefix="depai-sandbox-")
    fakedev = tempfile.mkdtemp(prefix="depai-fakedev-")
    os.chmod(fakedev, 0o755)  # the sandbox (a lease uid) must reach these paths, as it reaches /dev
    for n in ("nvidia0", "nvidia1", "nvidia2", "nvidiactl", "nvidia-uvm"):
        with open(os.path.join(fakedev, n), "w") as f:
            f.write(f"fake-{n}\n")
        os.chmod(os.path.join(fakedev, n), 0o666)
    images = os.path.join(root, "images")
    os.makedirs(images)
    d = Depai(args.depai, os.path.join(root, "chain"))
    os.makedirs(d.home)
    prov = None
    ok = False
    try:
        d.cli_json("devnet", "init", "--accounts", "7")
        keys = {k["name"]: k["address"] for k in d.cli_json("keys", "list")}
        d.start(block_time="200ms")
        prov = Provider(d, "p-box", "dave", 100, {"tier": "gold"}, root,
                        sandbox_extra=f'dev_dir = "{fakedev}"\nimage_dirs = ["{images}"]\npids_max = 64\n',
                        config_extra='[[inventory.gpus]]\nvendor = "nvidia"\nmodel = "t4"\ncount = 3\n'
                                     'devices = [0, 1, 2]\n[pricing.per_gpu]\nt4 = 5\n')
        # A secret in the daemon's environment, as a `file` keyring's passphrase would be.
        os.environ["DEPAI_KEYRING_PASSPHRASE_TEST"] = SENTINEL
        prov.start()
        del os.environ["DEPAI_KEYRING_PASSPHRASE_TEST"]
        health = json.loads(urllib.request.urlopen(prov.endpoint + "/health").read())
        sb = health["sandbox"]
        assert sb["can_sandbox"] and sb["mode"] == "bwrap" and sb["seccomp"]["ok"], sb
        print(f"ok: provider up with the sandbox: bwrap {sb['bwrap']['version']}, cgroups {sb['cgroups']}, "
              f"root {sb['root']} ({time.time() - t_start:.1f}s)")
        doctor = subprocess.run([args.depai, "provider", "doctor", "--config", prov.config], capture_output=True,
                                text=True)
        assert doctor.returncode == 0 and "workloads can be sandboxed" in doctor.stdout, doctor.stdout + doctor.stderr
        print("ok: `depai provider doctor` reports what this host enforces:\n    " +
              doctor.stdout.strip().replace("\n", "\n    "))
        keyring_dir = os.path.join(d.home, "keyring-test")
        keyring_files = sorted(os.path.join(keyring_dir, f) for f in os.listdir(keyring_dir))
        with open(os.path.join(prov.home, "MARKER-HOME.txt"), "w") as f:
            f.write("marker-of-the-provider-home\n")
        secrets = [SENTINEL, "marker-of-the-provider-home"]
        for kf in keyring_files:
            with open(kf, "rb") as f:
                data = f.read()
            if len(data) >= 48:
                secrets.append(data[8:48].decode("latin-1"))

        work = os.path.join(root, "specs")
        os.makedirs(work)
        shutil.copy(os.path.join(HERE, "hostile.py"), work)
        for f in ("optimize.py", "stops.json"):
            shutil.copy(os.path.join(EXAMPLE, f), work)
        common = "pricing: {max_price_per_block: 2000udpai, deposit: 2000000udpai, bid_window: 10, auto_select: true}\n"

        # ---- the victim: another buyer's long-running service with a secret --------------------
        victim = write_spec(work, "victim.yaml", """version: "1"
services:
  victim:
    command: ["sh", "-c", "echo secret-of-the-victim-lease > secret.txt; while true; do echo beat; sleep 0.3; done"]
    restart: always
resources: {cpu_millicores: 500, memory_mib: 256}
""" + common)
        out, _ = deploy(d, victim, who="bob")
        v_order, v_lease = out["order_id"], out["lease_id"]
        v_work = os.path.join(prov.state, "leases", v_lease, "victim", "work")
        wait_for("the victim's secret", lambda: os.path.exists(os.path.join(v_work, "secret.txt")), 20)
        secrets.append("secret-of-the-victim-lease")
        v_log = os.path.join(prov.state, "leases", v_lease, "victim", "stdout.log")
        st = d.cli_json("deploy", "status", v_order, "--from", "bob")
        vs = st["services"][0]["sandbox"]
        assert vs["mode"] == "bwrap" and "network" in vs["namespaces"] and vs["seccomp"], vs
        print(f"ok: victim lease {v_lease} runs sandboxed: {json.dumps(vs)[:300]}")

        # ---- the hostile workload -------------------------------------------------------------
        env = {
            "T_KEYRING_FILES": ":".join(keyring_files), "T_KEYRING_DIR": keyring_dir,
            "T_PROVIDER_HOME": prov.home, "T_PROVIDER_CONFIG": prov.config, "T_DAEMON_PID": str(prov.proc.pid),
            "T_SENTINEL_REVERSED": SENTINEL[::-1], "T_VICTIM_WORK": v_work, "T_API_PORT": str(d.port),
            "T_PROVIDER_PORT": str(prov.port),
        }
        env_yaml = "{" + ", ".join(f'{k}: "{v}"' for k, v in env.items()) + "}"
        hostile = write_spec(work, "hostile.yaml", f"""version: "1"
services:
  thief:
    command: ["python3", "hostile.py"]
    env: {env_yaml}
    files: {{hostile.py: hostile.py}}
    artifacts: ["leak-keyring.txt", "escape/etc/hostname", "hard.txt", "hard-keyring.txt", "out/fine.txt"]
    timeout_s: 60
resources: {{cpu_millicores: 500, memory_mib: 512}}
""" + common)
        out, _ = deploy(d, hostile)
        h_order = out["order_id"]
        st = wait_state(d, h_order, ("succeeded", "failed"))
        text = logs(d, h_order)
        attempts = [line for line in text.splitlines() if line.startswith("ATTEMPT")]
        assert "SUMMARY" in text and len(attempts) >= 25, text + logs(d, h_order, True)
        leaked = [a for a in attempts if ": LEAKED" in a]
        assert not leaked, "\n".join(leaked)
        print(f"ok: hostile workload made {len(attempts)} attempts; every one failed inside the sandbox, e.g.\n    " +
              "\n    ".join(a for a in attempts if any(k in a for k in ("keyring-file-0", "daemon-environ",
                                                                       "other-lease-file", "devnet-api",
                                                                       "provider-endpoint", "mount", "write-outside-1"))))
        resdir = os.path.join(root, "hostile-results")
        r = d.cli("deploy", "results", h_order, "--from", "alice", "--out", resdir, check=False)
        present = []
        if os.path.isdir(resdir):
            for dirpath, _, files in os.walk(resdir):
                for fn in files:
                    with open(os.path.join(dirpath, fn), "rb") as f:
                        blob = f.read().decode("latin-1")
                    for s in secrets:
                        assert s not in blob, f"a secret reached the buyer in {fn}"
                    present.append(os.path.relpath(os.path.join(dirpath, fn), resdir))
        assert present == ["out/fine.txt"], (present, r.stdout, r.stderr)
        # The provider says why the links were refused.
        refused = {a["name"]: a.get("refused", "") for a in json.loads(r.stdout)["artifacts"]}
        assert "symbolic link" in refused["leak-keyring.txt"], refused
        assert "hard links" in refused["hard.txt"], refused
        assert "symbolic link" in refused["escape/etc/hostname"], refused
        print(f"ok: of the 5 declared artifacts only the honest one came back ({present}); links to the keyring "
              f"and to '/', and hard links, were refused: {refused}")
        for s in secrets:
            assert s not in text, "a secret reached the buyer's logs"
            assert s not in logs(d, h_order, True), "a secret reached the buyer's stderr"
        for p in ("/usr/pwned", "/pwned", "/etc/pwned", os.path.join(prov.home, "pwned")):
            assert not os.path.exists(p), f"{p} was written"
        print("ok: no secret in the buyer's logs or results; nothing written outside the lease")

        # ---- fork bomb and memory, while the daemon and the victim keep going ------------------
        shutil.copy(os.path.join(HERE, "bomb.py"), work)
        bomb = write_spec(work, "bomb.yaml", """version: "1"
services:
  bomb:
    command: ["python3", "bomb.py"]
    files: {bomb.py: bomb.py}
    timeout_s: 60
resources: {cpu_millicores: 500, memory_mib: 256}
""" + common)
        before = os.path.getsize(v_log)
        out, _ = deploy(d, bomb)
        b_order = out["order_id"]
        slow = 0
        deadline = time.time() + 60
        while time.time() < deadline:
            t0 = time.time()
            urllib.request.urlopen(prov.endpoint + "/health", timeout=5).read()
            slow = max(slow, time.time() - t0)
            s = status(d, b_order)
            if s["workload_state"] != "running":
                break
            time.sleep(0.3)
        btext = logs(d, b_order) + logs(d, b_order, True)
        assert "ALLOCATED" not in btext and "ALLOC-FAILED" in btext, (btext, status(d, b_order))
        started = int(btext.split("peak ")[1].split()[0])
        assert started <= 64, btext
        assert slow < 1.0, f"/health took {slow:.2f}s during the fork bomb"
        wait_for("the victim's heartbeat", lambda: os.path.getsize(v_log) > before + 20, 10)
        print(f"ok: fork bomb capped at {started} processes (pids limit 64), 1.5 GiB allocation refused at 256 MiB; "
              f"/health answered within {slow * 1000:.0f} ms meanwhile; the victim kept beating")

        # ---- a hostile buyer against the provider endpoint itself ----------------------------
        half = []
        for _ in range(100):  # half-sent headers from one address
            try:
                c = socket.create_connection(("127.0.0.1", prov.port), timeout=5, source_address=("127.0.0.2", 0))
                c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                half.append(c)
            except OSError:
                pass
        slow = []
        for _ in range(5):  # bodies trickled one byte at a time from another
            c = socket.create_connection(("127.0.0.1", prov.port), timeout=5, source_address=("127.0.0.3", 0))
            c.sendall(b"POST /v1/leases/1/manifest HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            slow.append(c)
        worst = 0.0
        t_end = time.time() + 24
        cut = set()
        while time.time() < t_end:
            t0 = time.time()
            urllib.request.urlopen(prov.endpoint + "/health", timeout=5).read()
            worst = max(worst, time.time() - t0)
            for i, c in enumerate(slow):
                if i in cut:
                    continue
                try:
                    c.sendall(b"x")
                except OSError:
                    cut.add(i)
            time.sleep(1)
        for i, c in enumerate(slow):
            c.settimeout(5)
            try:
                got = c.recv(4096)
                if got == b"" or b"408" in got:
                    cut.add(i)
            except OSError:
                cut.add(i)
        idle_closed = 0
        for c in half:
            c.settimeout(1)
            try:
                if c.recv(4096) == b"":
                    idle_closed += 1
            except OSError:
                idle_closed += 1
            c.close()
        for c in slow:
            c.close()
        assert worst < 1.0 and len(cut) == len(slow) and idle_closed == len(half), (worst, cut, idle_closed, len(half))
        print(f"ok: {len(half)} half-open connections and {len(slow)} trickled bodies against the endpoint: /health "
              f"answered within {worst * 1000:.0f} ms throughout; the trickles were cut at the 20 s deadline and "
              f"the idle ones closed")

        # ---- hostile OCI images ---------------------------------------------------------------
        hostile_layers = {
            "dotdot": [("ok.txt", "file", "fine", 0o644), ("../escaped-dotdot", "file", "x", 0o644)],
            "absolute": [("/escaped-absolute", "file", "x", 0o644)],
            "hardlink": [("pw", "hardlink", "/etc/passwd", 0o644)],
            "through-link": [("ln", "symlink", "/", 0o777), ("ln/tmp/escaped-through-link", "file", "x", 0o644)],
        }
        before_files = tree_files(prov.home) | tree_files(prov.state)
        for name, layer in hostile_layers.items():
            path = os.path.join(images, f"hostile-{name}.tar")
            dg = build_oci_archive(path, [layer], {"Entrypoint": ["/bin/true"]})
            spec = write_spec(work, f"img-{name}.yaml", f"""version: "1"
services:
  app:
    runtime: oci
    image: "oci-archive:{path}@{dg['manifest_digest']}"
resources: {{cpu_millicores: 200, memory_mib: 128}}
""" + common)
            out, r = deploy(d, spec, check=False)
            msg = r.stderr + r.stdout
            assert r.returncode != 0 and "image" in msg, msg
            print(f"ok: image with a {name} layer refused: {msg.strip().splitlines()[-1][:160]}")
        for p in ("/escaped-absolute", "/tmp/escaped-through-link", "/escaped-dotdot"):
            assert not os.path.exists(p), p
        new = {f for f in (tree_files(prov.home) | tree_files(prov.state)) - before_files
               if "escaped" in os.path.basename(f)}
        assert not new, new
        print("ok: nothing of the hostile layers landed outside an image root")
        bad_files = write_spec(work, "dotdot-files.yaml", """version: "1"
services:
  app:
    command: ["true"]
    files: {"../evil.sh": {content: "x"}}
resources: {cpu_millicores: 100, memory_mib: 64}
""" + common)
        r = d.cli("deploy", "create", bad_files, "--from", "alice", "--yes", check=False)
        assert r.returncode != 0 and "not a safe relative path" in r.stderr + r.stdout, r.stderr + r.stdout
        print("ok: a file named '../evil.sh' is refused before anything is sent")
        egress = write_spec(work, "egress.yaml", """version: "1"
services:
  app:
    command: ["true"]
    egress: true
resources: {cpu_millicores: 100, memory_mib: 64}
""" + common)
        out, r = deploy(d, egress, check=False)
        assert r.returncode != 0 and "does not allow outbound network" in r.stderr + r.stdout, r.stderr + r.stdout
        print("ok: a spec asking for egress is refused by a provider that does not allow it (the default)")

        # ---- route optimization: exec and OCI, equal route.json ------------------------------
        with open(os.path.join(EXAMPLE, "spec.yaml")) as f:
            route_spec = f.read().replace("max_price_per_block: 100udpai", "max_price_per_block: 2000udpai")
        route_exec = write_spec(work, "route-exec.yaml", route_spec)
        out, _ = deploy(d, route_exec)
        wait_state(d, out["order_id"], ("succeeded",))
        rexec = os.path.join(root, "route-exec")
        d.cli_json("deploy", "results", out["order_id"], "--from", "alice", "--out", rexec)
        stage = os.path.join(root, "pyimage")
        python_image_tree(stage, ["argparse", "json", "math", "os", "sys", "http.server", "socketserver",
                                  "socket", "glob", "ctypes"])
        app_layer = [("app", "dir", None, 0o755),
                     ("app/optimize.py", "file", open(os.path.join(EXAMPLE, "optimize.py"), "rb").read(), 0o644),
                     ("app/stops.json", "file", open(os.path.join(EXAMPLE, "stops.json"), "rb").read(), 0o644)]
        img = os.path.join(images, "route.tar")
        t0 = time.time()
        dg = build_oci_archive(img, [stage, app_layer], {
            "Entrypoint": ["python3", "/app/optimize.py"],
            "Cmd": ["--stops", "/app/stops.json", "--out", "route.json"],
            "Env": ["PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"]})
        print(f"ok: built an OCI image of python3 + the optimizer ({os.path.getsize(img) // 1024} KiB, "
              f"{time.time() - t0:.1f}s), manifest {dg['manifest_digest'][:19]}...")
        route_oci = write_spec(work, "route-oci.yaml", f"""version: "1"
services:
  optimizer:
    runtime: oci
    image: "oci-archive:{img}@{dg['manifest_digest']}"
    env: {{RETURN_TO_DEPOT: "1"}}
    artifacts: ["route.json"]
    timeout_s: 120
resources: {{cpu_millicores: 1000, memory_mib: 512}}
""" + common)
        out, _ = deploy(d, route_oci)
        st = wait_state(d, out["order_id"], ("succeeded", "failed"), 90)
        assert st["workload_state"] == "succeeded", (st, logs(d, out["order_id"], True))
        roci = os.path.join(root, "route-oci")
        d.cli_json("deploy", "results", out["order_id"], "--from", "alice", "--out", roci)
        with open(os.path.join(rexec, "route.json"), "rb") as a, open(os.path.join(roci, "route.json"), "rb") as b:
            ra, rb = a.read(), b.read()
        assert ra == rb and len(ra) > 100, (ra[:200], rb[:200])
        print(f"ok: route.json from exec and from the OCI image are equal ({len(ra)} bytes, sha256 "
              f"{hashlib.sha256(ra).hexdigest()[:16]}...)")

        # ---- an exposed HTTP service ---------------------------------------------------------
        web = write_spec(work, "web.yaml", """version: "1"
services:
  web:
    command: ["python3", "-m", "http.server", "8000", "--bind", "127.0.0.1"]
    files: {hello.txt: {content: "hello from inside the sandbox\\n"}}
    expose: [8000]
    restart: always
resources: {cpu_millicores: 500, memory_mib: 256}
""" + common)
        out, _ = deploy(d, web)
        w_order, w_lease = out["order_id"], out["lease_id"]
        urls = d.cli_json("deploy", "url", w_order, "--from", "alice")
        assert urls["services"][0]["port"] == 8000 and "/services/web/8000/" in urls["services"][0]["url"], urls
        body = wait_for("the service to answer", lambda: (lambda r: r.stdout if r.returncode == 0 else None)(
            d.cli("deploy", "call", w_order, "--from", "alice", "--path", "/hello.txt", json_out=False,
                  check=False)), 20)
        assert body == "hello from inside the sandbox\n", body
        r = d.cli("deploy", "call", w_order, "--from", "bob", "--path", "/hello.txt", json_out=False, check=False)
        assert r.returncode != 0 and "only the lease owner" in r.stderr, r.stderr
        code, resp = http("GET", f"{prov.endpoint}/v1/leases/{w_lease}/services/web/8000/hello.txt")
        assert code == 401, (code, resp)
        s = socket.socket()
        s.settimeout(2)
        refused = s.connect_ex(("127.0.0.1", 8000)) != 0
        s.close()
        assert refused, "the service listens on the host's loopback"
        print(f"ok: exposed service answered its buyer through the provider ({urls['services'][0]['url']}); "
              f"bob got 'only the lease owner', an unsigned request {code}; port 8000 is not on the host")

        # ---- GPUs ---------------------------------------------------------------------------
        gpu_spec = """version: "1"
services:
  train:
    command: ["sh", "-c", "ls /dev; echo CVD=$CUDA_VISIBLE_DEVICES; cat /dev/nvidia* 2>&1; while true; do sleep 1; done"]
    restart: always
resources: {cpu_millicores: 500, memory_mib: 256, gpus: [{model: t4, count: COUNT}]}
""" + common
        out, _ = deploy(d, write_spec(work, "gpu2.yaml", gpu_spec.replace("COUNT", "2")))
        g1 = out["order_id"]
        t1 = wait_for("GPU listing", lambda: (lambda t: t if "CVD=" in t else None)(logs(d, g1)), 20)
        devs = sorted(x for x in t1.split() if x.startswith("nvidia") and not x.startswith("nvidia-uvm")
                      and x != "nvidiactl" and "fake" not in x)
        assert devs == ["nvidia0", "nvidia1"] and "nvidiactl" in t1 and "CVD=0,1" in t1, t1
        assert "fake-nvidia2" not in t1, t1
        with open(os.path.join(prov.home, "provider", "state.json")) as f:
            held = json.load(f)["leases"][out["lease_id"]]["gpus"]
        assert held == [0, 1], held
        prov.stop()
        prov.start()
        with open(os.path.join(prov.home, "provider", "state.json")) as f:
            assert json.load(f)["leases"][out["lease_id"]]["gpus"] == [0, 1]
        out2, _ = deploy(d, write_spec(work, "gpu1.yaml", gpu_spec.replace("COUNT", "1")))
        t2 = wait_for("GPU listing 2", lambda: (lambda t: t if "CVD=" in t else None)(logs(d, out2["order_id"])), 20)
        assert "nvidia2" in t2 and "nvidia0" not in t2 and "nvidia1" not in t2 and "CVD=0" in t2, t2
        print(f"ok: GPU leases got exactly their devices ({devs} with CUDA_VISIBLE_DEVICES=0,1; then nvidia2 alone "
              f"after a daemon restart kept [0, 1] held)")

        # The daemon still serves, and the victim still runs, after all of it.
        h = json.loads(urllib.request.urlopen(prov.endpoint + "/health").read())
        assert h["status"] == "ok", h
        vst = d.cli_json("deploy", "status", v_order, "--from", "bob")
        assert vst["workload_state"] == "running", vst
        print(f"ok: provider healthy with {h['active_leases']} active leases; the victim lease is still running "
              f"({time.time() - t_start:.1f}s in all)")
        # A host that cannot sandbox: the daemon refuses to start; mode "none" starts with a warning.
        nobox = Provider(d, "p-nobox", "erin", 100, {}, root, sandbox_extra='bwrap = "/nonexistent/bwrap"\n')
        try:
            nobox.start()
            raise AssertionError("a provider started without being able to sandbox")
        except AssertionError as e:
            assert "cannot sandbox workloads" in str(e) and "mode = \"none\"" in str(e), str(e)
        print("ok: without bubblewrap the daemon refuses to start: " +
              [x for x in nobox.log().splitlines() if "cannot sandbox" in x][-1][-160:])
        unboxed = Provider(d, "p-none", "frank", 100, {}, root, sandbox_extra='mode = "none"\n')
        unboxed.start()
        h = json.loads(urllib.request.urlopen(unboxed.endpoint + "/health").read())
        unboxed.stop()
        unboxed.kill_workloads()
        assert h["sandbox"]["mode"] == "none" and "UNCONFINED" in unboxed.log(), (h["sandbox"], unboxed.log())
        print("ok: sandbox mode none starts, says so in /health and warns: " +
              [x for x in unboxed.log().splitlines() if "UNCONFINED" in x][0][-120:])
        ok = True
    finally:
        if prov:
            prov.stop()
            prov.kill_workloads()
        d.stop()
        if not ok:
            if prov:
                print("---- provider log ----\n" + prov.log())
            print("---- devnet log ----\n" + d.log())
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(fakedev, ignore_errors=True)
    print("test_sandbox: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
