// Seeded random message generation for the determinism test (cosmos simulation/operations.go).
//
// SimRng is splitmix64: deterministic for a seed on every platform, no global state. SimState
// is what a module's random_msg sees: the current committed state, the test's accounts and the
// PRNG. Generators only build messages; the test signs and delivers them. Not thread-safe.
#pragma once

#include <google/protobuf/any.pb.h>
#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <vector>

#include "store/kv.h"
#include "util/bytes.h"

namespace depai::x {

class SimRng {
 public:
  explicit SimRng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }  // [0, n)
  bool chance(uint64_t percent) { return below(100) < percent; }

 private:
  uint64_t s_;
};

struct SimAccount {
  Bytes addr;          // 20 bytes
  std::string bech32;  // depai1...
};

struct SimState {
  const store::KVReader& state;  // committed state before the block being built
  const std::vector<SimAccount>& accounts;
  SimRng& rng;
  int64_t height = 0;    // the height the message will be delivered at
  std::string chain_id;  // the chain the messages are signed for (x/channel signs vouchers, x/identity statements); may
                         // be empty
  // session_pubkeys[i] is accounts[i]'s ed25519 public key (x/wallet's generator makes them
  // session keys); may be empty.
  std::vector<Bytes> session_pubkeys{};
};

struct SimMsg {
  size_t signer = 0;  // index into SimState::accounts
  google::protobuf::Any msg;
  // Non-empty (20 bytes): the tx signs for this agent wallet (x/wallet), with sim.accounts[signer]'s
  // key as its session key; the message's signer field is then the wallet's address.
  Bytes wallet{};
};

inline google::protobuf::Any PackAny(const char* type_url, const google::protobuf::Message& m) {
  google::protobuf::Any a;
  a.set_type_url(type_url);
  a.set_value(m.SerializeAsString());
  return a;
}

}  // namespace depai::x
