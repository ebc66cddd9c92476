// Context: what a keeper sees while handling one message or block hook.
//
// It bundles the current store branch (already gas-metered), the gas meter, the event sink and
// the block header. Time and randomness come ONLY from the header (determinism rules in
// doc/determinism.md). A Context is a cheap view; it owns nothing. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/cache_store.h"
#include "util/result.h"
#include "x/types/errors.h"

namespace depai::x {

struct EventAttribute {
  std::string key;
  std::string value;
  bool index = true;
};

struct Event {
  std::string type;
  std::vector<EventAttribute> attributes;
};

class EventManager {
 public:
  void emit(Event e) { events_.push_back(std::move(e)); }
  void emit(std::string type, std::vector<EventAttribute> attrs) {
    events_.push_back(Event{std::move(type), std::move(attrs)});
  }
  // The same as emit(type, {attrs...}) without copying each attribute out of an initializer list.
  template <typename... A>
  void emit_attrs(std::string type, A&&... attrs) {
    Event e{std::move(type), {}};
    e.attributes.reserve(sizeof...(A));
    (e.attributes.push_back(std::forward<A>(attrs)), ...);
    events_.push_back(std::move(e));
  }
  const std::vector<Event>& events() const { return events_; }
  std::vector<Event> take() { return std::move(events_); }
  void append(std::vector<Event> evs) {
    for (auto& e : evs) events_.push_back(std::move(e));
  }

 private:
  std::vector<Event> events_;
};

// Gas: consumption is checked against the limit; exceeding it is ErrOutOfGas.
struct GasConfig {
  uint64_t read_flat = 1000;
  uint64_t read_per_byte = 3;
  uint64_t write_flat = 2000;
  uint64_t write_per_byte = 30;
  uint64_t delete_flat = 1000;
  uint64_t iter_next = 30;
};

class GasMeter {
 public:
  explicit GasMeter(uint64_t limit) : limit_(limit) {}
  // Infinite meter, for block hooks and genesis.
  static GasMeter Infinite() { return GasMeter(UINT64_MAX); }
  Status consume(uint64_t amount, const char* what);
  uint64_t consumed() const { return consumed_; }
  uint64_t limit() const { return limit_; }
  bool exhausted() const { return out_of_gas_; }

 private:
  uint64_t limit_;
  uint64_t consumed_ = 0;
  bool out_of_gas_ = false;
};

// A KVStore view over a branch that charges gas for every access. When the meter runs out,
// further accesses still work but the meter reports exhaustion; the tx pipeline turns that into
// ErrOutOfGas and discards the branch.
class GasKVStore : public store::KVStore {
 public:
  GasKVStore(store::KVStore* inner, GasMeter* gas, GasConfig cfg = {}) : inner_(inner), gas_(gas), cfg_(cfg) {}
  std::optional<Bytes> get(std::string_view key) const override;
  bool get_into(std::string_view key, Bytes& out) const override;  // same gas as get
  void iterate(std::string_view start, std::string_view end, const store::IterFn& fn) const override;
  void set(std::string_view key, std::string_view value) override;
  void del(std::string_view key) override;

 private:
  store::KVStore* inner_;
  GasMeter* gas_;
  GasConfig cfg_;
};

struct BlockHeader {
  std::string chain_id;
  int64_t height = 0;
  int64_t time_unix_ms = 0;  // from the block, never the wall clock
  Bytes proposer;
  Bytes hash;
};

struct Context {
  store::KVStore* store = nullptr;
  GasMeter* gas = nullptr;
  EventManager* events = nullptr;
  const BlockHeader* header = nullptr;
  bool check_tx = false;
};

}  // namespace depai::x
