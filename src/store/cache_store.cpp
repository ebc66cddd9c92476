#include "store/cache_store.h"

namespace depai::store {

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto c = static_cast<unsigned char>(end.back());
    if (c != 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

std::optional<Bytes> CacheStore::get(std::string_view key) const {
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second.value;
  auto v = parent_->get(key);
  entries_.emplace_hint(it, std::string(key), Entry{v, false, true, std::nullopt});
  return v;
}

bool CacheStore::get_into(std::string_view key, Bytes& out) const {
  auto it = entries_.lower_bound(key);
  if (it != entries_.end() && it->first == key) {
    if (!it->second.value) {
      out.clear();
      return false;
    }
    out.assign(*it->second.value);
    return true;
  }
  const bool found = parent_->get_into(key, out);
  entries_.emplace_hint(it, std::string(key),
                        Entry{found ? std::optional<Bytes>(out) : std::nullopt, false, true, std::nullopt});
  return found;
}

size_t CacheStore::savepoint() {
  ++open_savepoints_;
  return journal_.size();
}

void CacheStore::rollback(size_t sp) {
  while (journal_.size() > sp) {
    auto& [it, prev] = journal_.back();
    if (prev) {
      it->second = std::move(*prev);
    } else {
      entries_.erase(it);
    }
    journal_.pop_back();
  }
  release(sp);
}

void CacheStore::release(size_t) {
  if (open_savepoints_ > 0 && --open_savepoints_ == 0) journal_.clear();
}

void CacheStore::set(std::string_view key, std::string_view value) {
  auto it = entries_.lower_bound(key);
  if (it == entries_.end() || it->first != key) {
    it = entries_.emplace_hint(it, std::string(key), Entry{Bytes(value), true, false, std::nullopt});
    if (open_savepoints_) journal_.emplace_back(it, std::nullopt);
    return;
  }
  Entry& e = it->second;
  if (open_savepoints_) journal_.emplace_back(it, e);
  if (!e.dirty) {
    if (e.original_known) e.original = std::move(e.value);
    e.dirty = true;
  }
  if (e.value)
    e.value->assign(value);
  else
    e.value.emplace(value);
}

void CacheStore::del(std::string_view key) {
  auto it = entries_.lower_bound(key);
  if (it == entries_.end() || it->first != key) {
    it = entries_.emplace_hint(it, std::string(key), Entry{std::nullopt, true, false, std::nullopt});
    if (open_savepoints_) journal_.emplace_back(it, std::nullopt);
    return;
  }
  Entry& e = it->second;
  if (open_savepoints_) journal_.emplace_back(it, e);
  if (!e.dirty) {
    if (e.original_known) e.original = std::move(e.value);
    e.dirty = true;
  }
  e.value.reset();
}

void CacheStore::iterate(std::string_view start, std::string_view end, const IterFn& fn) const {
  auto it = entries_.lower_bound(start);
  auto in_range = [&](const std::string& k) { return end.empty() || k < end; };
  auto next_dirty = [&]() {
    while (it != entries_.end() && in_range(it->first) && !it->second.dirty) ++it;
  };
  bool stopped = false;
  next_dirty();
  parent_->iterate(start, end, [&](std::string_view pk, std::string_view pv) {
    // Emit pending writes that sort before the parent's key.
    while (it != entries_.end() && in_range(it->first) && it->first < pk) {
      if (it->second.value && !fn(it->first, *it->second.value)) {
        stopped = true;
        return false;
      }
      ++it;
      next_dirty();
    }
    if (it != entries_.end() && in_range(it->first) && it->first == pk) {
      const Entry& e = it->second;
      ++it;
      next_dirty();
      if (!e.value) return true;  // deleted in this branch
      if (!fn(pk, *e.value)) {
        stopped = true;
        return false;
      }
      return true;
    }
    if (!fn(pk, pv)) {
      stopped = true;
      return false;
    }
    return true;
  });
  if (stopped) return;
  while (it != entries_.end() && in_range(it->first)) {
    if (it->second.value && !fn(it->first, *it->second.value)) return;
    ++it;
    next_dirty();
  }
}

void CacheStore::write_to(KVStore& dst) const {
  for (const auto& [k, e] : entries_) {
    if (!e.dirty) continue;
    if (e.value)
      dst.set(k, *e.value);
    else
      dst.del(k);
  }
}

void CacheStore::for_each_write(const std::function<void(const std::string&, const std::optional<Bytes>&)>& fn) const {
  for (const auto& [k, e] : entries_)
    if (e.dirty) fn(k, e.value);
}

void CacheStore::for_each_write(const WriteWithOriginalFn& fn) const {
  for (const auto& [k, e] : entries_)
    if (e.dirty) fn(k, e.value, e.original_known ? &e.original : nullptr);
}

void CacheStore::for_each_write(std::string_view start, std::string_view end, const WriteWithOriginalFn& fn) const {
  for (auto it = entries_.lower_bound(start); it != entries_.end() && (end.empty() || it->first < end); ++it)
    if (it->second.dirty) fn(it->first, it->second.value, it->second.original_known ? &it->second.original : nullptr);
}

size_t CacheStore::pending_writes() const {
  size_t n = 0;
  for (const auto& [k, e] : entries_) n += e.dirty ? 1 : 0;
  return n;
}

void CacheStore::reset() {
  entries_.clear();
  journal_.clear();
  open_savepoints_ = 0;
}

}  // namespace depai::store
