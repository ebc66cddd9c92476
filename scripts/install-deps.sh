#!/usr/bin/env bash
# Installs everything depai needs on Debian 12 (bookworm): the C++ toolchain and libraries from
# Debian's packages, and the pinned CometBFT Go module (protobufs for the ABCI server, and the
# cometbft binary for multi-node tests). Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

COMETBFT_VERSION=v0.38.25
GOGOPROTO_VERSION=v1.7.0
PKGS=(build-essential cmake ninja-build ccache clang clang-format libclang-rt-14-dev pkg-config
      librocksdb-dev libsodium-dev libssl-dev libprotobuf-dev protobuf-compiler
      libboost-dev libboost-system-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
      libtomlplusplus-dev libyaml-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
      python3 curl git golang-go)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=()
for p in "${PKGS[@]}"; do
  # golang-go is only needed when no Go toolchain is installed already
  if [ "$p" = golang-go ] && command -v go >/dev/null 2>&1; then continue; fi
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "== Debian packages: all present"
fi

export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
echo "== CometBFT ${COMETBFT_VERSION} protobufs (go mod download)"
modcache=$(go env GOMODCACHE)
if [ ! -f "$modcache/github.com/cometbft/cometbft@${COMETBFT_VERSION}/proto/tendermint/abci/types.proto" ]; then
  (cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download "github.com/cometbft/cometbft@${COMETBFT_VERSION}")
fi
if [ ! -f "$modcache/github.com/cosmos/gogoproto@${GOGOPROTO_VERSION}/gogoproto/gogo.proto" ]; then
  (cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download "github.com/cosmos/gogoproto@${GOGOPROTO_VERSION}")
fi
gobin="$(go env GOPATH)/bin"
if ! "$gobin/cometbft" version 2>/dev/null | grep -qx "${COMETBFT_VERSION#v}"; then
  echo "== go install cometbft@${COMETBFT_VERSION} (a few minutes the first time)"
  GOFLAGS=-mod=mod go install "github.com/cometbft/cometbft/cmd/cometbft@${COMETBFT_VERSION}"
fi
if [ ! -x "$gobin/abci-cli" ]; then
  echo "== go install abci-cli@${COMETBFT_VERSION}"
  GOFLAGS=-mod=mod go install "github.com/cometbft/cometbft/abci/cmd/abci-cli@${COMETBFT_VERSION}"
fi
echo "== deps ready (cometbft $("$gobin/cometbft" version))"
