// KV interfaces shared by every store layer.
//
// Contract: keys and values are arbitrary bytes. Iteration is in ascending byte order over
// [start, end); an empty `end` means "no upper bound". The callback returns false to stop.
// Implementations are not thread-safe unless stated otherwise.
//
// get_into() is get() without the copy per layer: it writes the value into the caller's buffer
// (replacing its contents, reusing its capacity) and returns whether the key exists; `out` is
// cleared when it does not. Every store answers get_into exactly as it answers get.
//
// Storage failure: get(), get_into() and iterate() have no error return. A store whose engine fails a read
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
  virtual bool get_into(std::string_view key, Bytes& out) const {
    auto v = get(key);
    if (!v) {
      out.clear();
      return false;
    }
    out = std::move(*v);
    return true;
  }
  virtual void iterate(std::string_view start, std::string_view end, const IterFn& fn) const = 0;
  // Whether `key` exists; reads it through get_into into a per-thread buffer (no allocation once warm).
  bool has(std::string_view key) const {
    thread_local Bytes buf;
    return get_into(key, buf);
  }
};

class KVStore : public KVReader {
 public:
  virtual void set(std::string_view key, std::string_view value) = 0;
  virtual void del(std::string_view key) = 0;
};

// The smallest key greater than every key starting with `prefix` ("" if none exists).
std::string PrefixEnd(std::string_view prefix);

}  // namespace depai::store
