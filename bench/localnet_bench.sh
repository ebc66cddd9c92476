#!/usr/bin/env bash
# depai transfers vs CometBFT's kvstore app on the same 4-validator localnet config, same load
# generator, same rate sweep, run one after the other on this machine. See bench/README.md.
# Usage: bench/localnet_bench.sh [depai binary] [rates] [seconds]
set -euo pipefail
D=${1:-./build/release/depai}
RATES=${2:-"200 400 800"}
SECS=${3:-10}
DIR=$(mktemp -d)
NODES=http://127.0.0.1:26657,http://127.0.0.2:26657,http://127.0.0.3:26657,http://127.0.0.4:26657
trap '"$D" localnet stop --dir "$DIR/net" --kill >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT

declare -A RES
for app in kvstore depai; do
  for rate in $RATES; do
    rm -rf "$DIR/net"
    "$D" localnet init --validators 4 --dir "$DIR/net" --timeout-commit 500ms --mempool-size 50000 >/dev/null
    "$D" localnet start --dir "$DIR/net" --app "$app" >/dev/null
    for _ in $(seq 1 100); do
      h=$(curl -s 127.0.0.1:26657/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["sync_info"]["latest_block_height"])' 2>/dev/null || echo 0)
      [ "${h:-0}" -ge 2 ] && break
      sleep 0.2
    done
    mode=transfer; [ "$app" = kvstore ] && mode=kv
    out=$("$D" loadgen --home "$DIR/net" --nodes "$NODES" --mode "$mode" --rate "$rate" --duration "$SECS" \
      --senders 32 --conns 8 --output json)
    echo "$app rate=$rate $out"
    RES[$app-$rate]=$out
    "$D" localnet stop --dir "$DIR/net" >/dev/null
  done
done

echo
printf '%-6s | %-34s | %-34s | %s\n' rate "kvstore accepted/committed tx/s, p50/p95 ms" "depai accepted/committed tx/s, p50/p95 ms" "depai/kvstore (committed)"
for rate in $RATES; do
  python3 - "$rate" "${RES[kvstore-$rate]}" "${RES[depai-$rate]}" <<'PY'
import json, sys
rate, k, d = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
def cell(r):
    return f"{r['accepted_tx_per_s']:6.0f}/{r['committed_tx_per_s']:6.0f}, {r['latency_ms_p50']:5.0f}/{r['latency_ms_p95']:5.0f}"
kt, dt = k["committed_tx_per_s"], d["committed_tx_per_s"]
print(f"{rate:<6} | {cell(k):<34} | {cell(d):<34} | {dt / kt if kt else 0:.2f}")
PY
done
