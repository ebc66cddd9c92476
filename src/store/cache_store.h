// CacheStore: a branch over a parent KVReader. Writes stay in memory until write_to() copies
// them to a parent store; dropping the CacheStore discards them (transaction rollback).
// Branches nest: a CacheStore can be the parent of another. Reads are cached. Iteration merges
// pending writes with the parent in key order. Not thread-safe.
//
// Savepoints make one branch serve as a flat write buffer for a whole block: the tx pipeline
// opens a savepoint per tx phase instead of stacking a CacheStore per level. While a savepoint
// is open, set/del journal the key's previous entry; rollback(sp) restores them (newest first),
// release(sp) keeps the writes. Savepoints nest and must be closed innermost first.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "store/kv.h"

namespace depai::store {

class CacheStore : public KVStore {
 public:
  explicit CacheStore(const KVReader* parent) : parent_(parent) {}
  std::optional<Bytes> get(std::string_view key) const override;
  bool get_into(std::string_view key, Bytes& out) const override;
  void iterate(std::string_view start, std::string_view end, const IterFn& fn) const override;
  void set(std::string_view key, std::string_view value) override;
  void del(std::string_view key) override;

  // Copies every pending write (set or delete) into `dst`. Does not clear this branch.
  void write_to(KVStore& dst) const;
  // Visits pending writes in key order: value is nullopt for a delete.
  void for_each_write(const std::function<void(const std::string&, const std::optional<Bytes>&)>& fn) const;
  // Same, also passing the parent's value before this branch touched the key, when the branch
  // read it first (nullptr when unknown: the caller must read the parent itself).
  using WriteWithOriginalFn =
      std::function<void(const std::string&, const std::optional<Bytes>&, const std::optional<Bytes>* original)>;
  void for_each_write(const WriteWithOriginalFn& fn) const;
  // The same, for the pending writes with keys in [start, end) only (empty end: no bound); the
  // cost is that range's writes, not the whole branch's.
  void for_each_write(std::string_view start, std::string_view end, const WriteWithOriginalFn& fn) const;
  size_t pending_writes() const;
  void reset();  // drop all writes and cached reads

  size_t savepoint();
  void rollback(size_t sp);
  void release(size_t sp);

  // Closes a savepoint when it goes out of scope: rolls back unless keep() was called.
  class Scope {
   public:
    explicit Scope(CacheStore& s) : s_(s), sp_(s.savepoint()) {}
    ~Scope() {
      if (!done_) s_.rollback(sp_);
    }
    void keep() {
      if (!done_) s_.release(sp_);
      done_ = true;
    }
    void discard() {
      if (!done_) s_.rollback(sp_);
      done_ = true;
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    CacheStore& s_;
    size_t sp_;
    bool done_ = false;
  };
  const KVReader* parent() const { return parent_; }

 private:
  struct Entry {
    std::optional<Bytes> value;
    bool dirty = false;
    bool original_known = false;  // set when the first access was a read of the parent
    // The parent's value at that read, for a dirty entry whose original_known is set (a clean
    // entry's original is its value: it moves here at the first write, so a read stores it once).
    std::optional<Bytes> original;
  };
  using Map = std::map<std::string, Entry, std::less<>>;
  const KVReader* parent_;
  mutable Map entries_;
  // (entry, its state before the write; nullopt: the write created it). Map iterators stay valid:
  // an entry is erased only by the rollback of its own creation, after its later records.
  std::vector<std::pair<Map::iterator, std::optional<Entry>>> journal_;
  size_t open_savepoints_ = 0;
};

}  // namespace depai::store
