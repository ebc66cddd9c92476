// KV interfaces shared by every store layer.
//
// Contract: keys and values are arbitrary bytes. Iteration is in ascending byte order over
// [start, end); an empty `end` means "no upper bound". The callback returns false to stop.
// Implementations are not thread-safe unless stated otherwise.
//
// Storage failure: get() and iterate() have no error return. A store whose engine fails a read
// (I/O error, corruption detected by the engine) throws StorageFault and never answers "absent"
// or a partial range instead. StorageFault is the one exception in the state machine: only the
// App's entry points catch it, and they turn it into a node fault (kFaultStorage), which halts
// the node. In-memory stores (MemStore, CacheStore over one) never fail. Writes to a CacheStore
// cannot fail; the durable write happens in StateDB::commit, which returns a Status.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace depai::store {

class StorageFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using IterFn = std::function<bool(std::string_view key, std::string_view value)>;

class KVReader {
 public:
  virtual ~KVReader() = default;
  virtual std::optional<Bytes> get(std::string_view key) const = 0;
  virtual void iterate(std::string_view start, std::string_view end, const IterFn& fn) const = 0;
  bool has(std::string_view key) const { return get(key).has_value(); }
};

class KVStore : public KVReader {
 public:
  virtual void set(std::string_view key, std::string_view value) = 0;
  virtual void del(std::string_view key) = 0;
};

// The smallest key greater than every key starting with `prefix` ("" if none exists).
std::string PrefixEnd(std::string_view prefix);

}  // namespace depai::store
