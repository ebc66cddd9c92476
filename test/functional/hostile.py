#!/usr/bin/env python3
"""A hostile buyer's workload: tries to steal from and escape its provider, and reports each try.

Run inside the sandbox by test_sandbox.py. Every line it prints is `ATTEMPT <name>: BLOCKED <how>`
or `ATTEMPT <name>: LEAKED <what>`; the test requires that none says LEAKED. Targets come from the
environment (host paths the provider really has), so the script tries the real thing.
"""
import glob
import os
import socket
import sys

results = []


def report(name, leaked, detail):
    line = f"ATTEMPT {name}: {'LEAKED' if leaked else 'BLOCKED'} {detail}"
    results.append(line)
    print(line, flush=True)


def try_read(name, path):
    try:
        with open(path, "rb") as f:
            data = f.read(4096)
        report(name, True, f"read {len(data)} bytes from {path}: {data[:80]!r}")
    except OSError as e:
        report(name, False, f"{path}: {e.strerror}")


def try_list(name, path):
    try:
        entries = os.listdir(path)
        report(name, True, f"listed {path}: {entries[:10]}")
    except OSError as e:
        report(name, False, f"{path}: {e.strerror}")


def try_write(name, path):
    try:
        with open(path, "w") as f:
            f.write("pwned by a workload\n")
        report(name, True, f"wrote {path}")
    except OSError as e:
        report(name, False, f"{path}: {e.strerror}")


def try_connect(name, port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        report(name, True, f"connected to 127.0.0.1:{port}")
    except OSError as e:
        report(name, False, f"127.0.0.1:{port}: {e.strerror or e}")
    finally:
        s.close()


env = os.environ
# The daemon's secret comes reversed, so that this process's own environment does not hold it.
# The provider's keyring, home and state.
for i, path in enumerate(env.get("T_KEYRING_FILES", "").split(":")):
    if path:
        try_read(f"keyring-file-{i}", path)
try_list("keyring-dir", env["T_KEYRING_DIR"])
try_list("provider-home", env["T_PROVIDER_HOME"])
try_read("provider-state", os.path.join(env["T_PROVIDER_HOME"], "provider", "state.json"))
try_read("provider-config", env["T_PROVIDER_CONFIG"])
# The daemon's environment, by pid and by scanning every process we can see.
try_read("daemon-environ", f"/proc/{env['T_DAEMON_PID']}/environ")
seen = 0
for p in glob.glob("/proc/[0-9]*/environ"):
    try:
        with open(p, "rb") as f:
            if env["T_SENTINEL_REVERSED"][::-1].encode() in f.read():
                report("proc-scan", True, f"found the daemon's secret in {p}")
        seen += 1
    except OSError:
        pass
pids = [p for p in os.listdir("/proc") if p.isdigit()]
report("proc-scan", len(pids) > 12, f"{len(pids)} processes visible, none with the daemon's environment")
# Another lease's working directory.
try_read("other-lease-file", os.path.join(env["T_VICTIM_WORK"], "secret.txt"))
try_list("other-lease-dir", env["T_VICTIM_WORK"])
# File descriptors inherited from the provider (its sockets, its key files).
fds = []
for fd in os.listdir("/proc/self/fd"):
    try:
        fds.append((int(fd), os.readlink(f"/proc/self/fd/{fd}")))
    except OSError:
        pass
extra = [(fd, t) for fd, t in fds if fd > 2 and "/proc/" not in t and not t.startswith("/proc")]
extra = [(fd, t) for fd, t in extra if os.path.basename(t) != "fd"]
report("inherited-fds", len(extra) > 0, f"open fds beyond stdio: {extra}")
# Writing outside the lease.
for i, path in enumerate(["/usr/pwned", "/pwned", "/etc/pwned", "/work/../pwned-dotdot",
                          os.path.join(env["T_PROVIDER_HOME"], "pwned")]):
    try_write(f"write-outside-{i}", path)
try:
    os.mkdir("/proc/pwned")
    report("mkdir-proc", True, "made /proc/pwned")
except OSError as e:
    report("mkdir-proc", False, f"/proc/pwned: {e.strerror}")
# The chain's API and the provider's endpoint on the host's loopback.
try_connect("devnet-api", int(env["T_API_PORT"]))
try_connect("provider-endpoint", int(env["T_PROVIDER_PORT"]))
# Dangerous system calls (the seccomp filter and the missing capabilities).
import ctypes  # noqa: E402

libc = ctypes.CDLL(None, use_errno=True)
r = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
report("mount", r == 0, f"mount returned {r}, errno {ctypes.get_errno()}")
r = libc.unshare(0x10000000)  # CLONE_NEWUSER
report("unshare-userns", r == 0, f"unshare returned {r}, errno {ctypes.get_errno()}")
r = libc.syscall(250, 0, b"user", b"x", 1, -4)  # add_key (x86_64: 248 add_key, 250 keyctl)
report("keyctl", r >= 0, f"keyctl returned {r}, errno {ctypes.get_errno()}")
# Artifacts that point outside: a symlink to the keyring, a link to "/", a second hard link.
os.makedirs("out", exist_ok=True)
for name, target in [("leak-keyring.txt", env["T_KEYRING_FILES"].split(":")[0]), ("escape", "/")]:
    try:
        os.symlink(target, name)
    except OSError:
        pass
with open("data.txt", "w") as f:
    f.write("ordinary data\n")
try:
    os.link("data.txt", "hard.txt")
except OSError:
    pass
try:
    os.link(env["T_KEYRING_FILES"].split(":")[0], "hard-keyring.txt")
    report("hardlink-keyring", True, "hard-linked the keyring file")
except OSError as e:
    report("hardlink-keyring", False, f"{e.strerror}")
with open("out/fine.txt", "w") as f:
    f.write("an honest artifact\n")
leaked = [r for r in results if ": LEAKED" in r]
print(f"SUMMARY {len(results)} attempts, {len(leaked)} leaked", flush=True)
sys.exit(0)
