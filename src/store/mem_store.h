// MemStore: an in-memory KVStore backed by std::map, for tests and fixtures. Not thread-safe.
#pragma once

#include <map>

#include "store/kv.h"

namespace depai::store {

class MemStore : public KVStore {
 public:
  std::optional<Bytes> get(std::string_view key) const override {
    auto it = m_.find(key);
    if (it == m_.end()) return std::nullopt;
    return it->second;
  }
  bool get_into(std::string_view key, Bytes& out) const override {
    auto it = m_.find(key);
    if (it == m_.end()) {
      out.clear();
      return false;
    }
    out.assign(it->second);
    return true;
  }
  void iterate(std::string_view start, std::string_view end, const IterFn& fn) const override {
    for (auto it = m_.lower_bound(start); it != m_.end() && (end.empty() || it->first < end); ++it)
      if (!fn(it->first, it->second)) return;
  }
  void set(std::string_view key, std::string_view value) override { m_[std::string(key)] = Bytes(value); }
  void del(std::string_view key) override {
    auto it = m_.find(key);
    if (it != m_.end()) m_.erase(it);
  }
  size_t size() const { return m_.size(); }

 private:
  std::map<std::string, Bytes, std::less<>> m_;
};

}  // namespace depai::store
