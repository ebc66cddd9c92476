#!/usr/bin/env bash
# Installs everything depai needs on Debian 12 (bookworm): the C++ toolchain and libraries from
# Debian's packages, a Go toolchain new enough for CometBFT (bookworm-backports when Debian's own
# Go 1.19 is too old), the pinned CometBFT Go module (protobufs for the ABCI server; the
# cometbft and abci-cli binaries for multi-node tests), and the pinned schemathesis from PyPI in
# the project's own Python venv .venv-test/ (git-ignored; test/functional/test_openapi.py runs it).
# Idempotent and non-interactive: when everything is there it touches nothing (no apt at all).
# Run as root, or as a user with sudo rights.
set -euo pipefail
cd "$(dirname "$0")/.."

COMETBFT_VERSION=v0.38.25
GOGOPROTO_VERSION=v1.7.0
GO_MIN=1.22.11  # the `go` line of cometbft v0.38.25's go.mod
SCHEMATHESIS_VERSION=4.32.5
TEST_VENV=.venv-test
PKGS=(build-essential cmake ninja-build ccache clang clang-format clang-tidy libclang-rt-14-dev pkg-config
      librocksdb-dev libsodium-dev libssl-dev libprotobuf-dev protobuf-compiler
      libboost-dev libboost-system-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
      libtomlplusplus-dev libyaml-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
      libseccomp-dev libarchive-dev libgoogle-perftools-dev bubblewrap skopeo slirp4netns busybox-static
      python3 curl git ca-certificates)

SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {  # apt_install [apt options] packages...
  if [ "$apt_updated" = 0 ]; then
    "${SUDO[@]}" apt-get update -qq
    apt_updated=1
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# ---- Debian packages ---------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
else
  echo "== Debian packages: all ${#PKGS[@]} present"
fi

# ---- Go >= GO_MIN ------------------------------------------------------------------------------
export PATH="$PATH:/usr/local/go/bin"
go_ok() {
  command -v go >/dev/null 2>&1 || return 1
  local v
  v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$GO_MIN" "$v" | sort -V | head -n1)" = "$GO_MIN" ]
}
if ! go_ok; then
  # Debian 12's golang-go is 1.19; bookworm-backports carries golang-go 1.23 (/usr/bin/go).
  echo "== Go >= ${GO_MIN} not found: installing golang-go from bookworm-backports"
  . /etc/os-release
  if [ "${VERSION_CODENAME:-}" != bookworm ]; then
    echo "install-deps: install Go >= ${GO_MIN} yourself (https://go.dev/dl/) on ${PRETTY_NAME:-this OS}" >&2
    exit 1
  fi
  src=/etc/apt/sources.list.d/depai-bookworm-backports.list
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" |
      "${SUDO[@]}" tee "$src" >/dev/null
  fi
  apt_updated=0
  apt_install -t bookworm-backports golang-go
  hash -r
  go_ok || { echo "install-deps: still no Go >= ${GO_MIN} (found: $(go version 2>&1))" >&2; exit 1; }
fi
echo "== $(go version)"

# ---- CometBFT ------------------------------------------------------------------------------------
export GOFLAGS=-mod=mod
modcache=$(go env GOMODCACHE)
gobin="$(go env GOPATH)/bin"
if [ ! -f "$modcache/github.com/cometbft/cometbft@${COMETBFT_VERSION}/proto/tendermint/abci/types.proto" ]; then
  echo "== go mod download cometbft@${COMETBFT_VERSION}"
  (cd "$(mktemp -d)" && go mod download "github.com/cometbft/cometbft@${COMETBFT_VERSION}")
fi
if [ ! -f "$modcache/github.com/cosmos/gogoproto@${GOGOPROTO_VERSION}/gogoproto/gogo.proto" ]; then
  echo "== go mod download gogoproto@${GOGOPROTO_VERSION}"
  (cd "$(mktemp -d)" && go mod download "github.com/cosmos/gogoproto@${GOGOPROTO_VERSION}")
fi
if ! "$gobin/cometbft" version 2>/dev/null | grep -qx "${COMETBFT_VERSION#v}"; then
  echo "== go install cometbft@${COMETBFT_VERSION} (a few minutes the first time)"
  go install "github.com/cometbft/cometbft/cmd/cometbft@${COMETBFT_VERSION}"
fi
if [ ! -x "$gobin/abci-cli" ]; then
  echo "== go install abci-cli@${COMETBFT_VERSION}"
  go install "github.com/cometbft/cometbft/abci/cmd/abci-cli@${COMETBFT_VERSION}"
fi

# ---- schemathesis in .venv-test/ (the OpenAPI test) ----------------------------------------------
if "$TEST_VENV/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version ${SCHEMATHESIS_VERSION}"; then
  echo "== schemathesis ${SCHEMATHESIS_VERSION} present in $TEST_VENV"
else
  echo "== pip install schemathesis==${SCHEMATHESIS_VERSION} into $TEST_VENV"
  if ! "$TEST_VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$TEST_VENV"
    if ! python3 -m venv "$TEST_VENV" >/dev/null 2>&1; then  # Debian's python3 needs python3-venv for ensurepip
      rm -rf "$TEST_VENV"
      installed python3-venv || apt_install python3-venv
      /usr/bin/python3 -m venv "$TEST_VENV"
    fi
  fi
  "$TEST_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
  "$TEST_VENV/bin/schemathesis" --version
fi
echo "== deps ready (cometbft $("$gobin/cometbft" version) in $gobin; schemathesis in $TEST_VENV)"
