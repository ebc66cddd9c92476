"""Helpers for functional tests: run the real `depai` binary and talk to its HTTP API."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


class DaemonProcess:
    """A `depai` daemon the test starts itself (a provider, a checker): subclasses set `proc`
    (a Popen writing to `log_path`) in their own start()."""
    proc = None
    log_path = ""

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Depai:
    def __init__(self, binary, home):
        self.binary = binary
        self.home = home
        self.port = free_port()
        self.node = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log_path = os.path.join(home, "devnet.log")

    def cli(self, *args, check=True, stdin=None, json_out=True):
        cmd = [self.binary, *args, "--home", self.home, "--node", self.node]
        if json_out:
            cmd += ["--output", "json"]
        r = subprocess.run(cmd, capture_output=True, text=True, input=stdin, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr}{r.stdout}")
        return r

    def cli_json(self, *args):
        return json.loads(self.cli(*args).stdout)

    def start(self, block_time="200ms"):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [self.binary, "devnet", "start", "--home", self.home, "--block-time", block_time,
             "--api-addr", f"127.0.0.1:{self.port}"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"devnet exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if int(self.get("/status")["latest_block_height"]) >= 1:
                    return
            except Exception:
                time.sleep(0.1)
        raise AssertionError("devnet did not come up:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-6000:]
        except OSError:
            return ""

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=30)
        return self.proc.returncode if self.proc else None

    def request(self, method, path, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.node + path, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def get(self, path):
        status, body = self.request("GET", path)
        if status != 200:
            raise AssertionError(f"GET {path} -> {status} {body}")
        return body

    def balance(self, addr, denom="udpai"):
        for c in self.get(f"/balances/{addr}")["balances"]:
            if c["denom"] == denom:
                return int(c["amount"])
        return 0

    def height(self):
        return int(self.get("/status")["latest_block_height"])

    def events(self, type_, frm=1, to=None):
        """The events of type_ in committed blocks frm..to (to: the latest height), every page."""
        out, h = [], frm
        to = self.height() if to is None else to
        while h <= to:
            r = self.get(f"/events?from_height={h}&to_height={to}&type={type_}")
            out += r["events"]
            h = int(r["next_height"])
        return out

    def at_one_height(self, read, timeout=30):
        """(h, read()) with every query of read() answered from the state of height h: retried
        until the height before and after it is the same."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            h0 = self.height()
            value = read()
            if self.height() == h0:
                return h0, value
        raise AssertionError(f"no block-stable read in {timeout}s")

    def wait_height(self, h, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if int(self.get("/status")["latest_block_height"]) >= h:
                return
            time.sleep(0.1)
        raise AssertionError(f"height {h} not reached")
