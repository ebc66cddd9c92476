// StateDB: the committed application state on RocksDB, plus the app-hash commitment.
//
// Layout: the default column family holds module state; the "meta" column family holds the
// last committed height, app hash and LtHash lanes. A block's writes, staged in a CacheStore
// over committed(), are applied by commit() in ONE atomic, fsynced WriteBatch together with the
// new height and app hash, so a crash leaves either the old or the new block, never a mix.
// Contract: prepare() computes the next app hash without persisting; commit() persists what
// prepare() computed. Reads through committed() are safe from any thread, also during a commit (see RocksReader).
// Memory: a commit larger than a memtable (a genesis import) is flushed to SST files at once, and
// closing flushes the memtables, so reopening never replays a large WAL into memory.
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "crypto/lthash.h"
#include "store/cache_store.h"
#include "util/result.h"

namespace depai::store {

// Reads committed state from RocksDB through a bounded point-read cache (hits and misses),
// kept write-through by StateDB::commit. get() is thread-safe, also while a commit runs (the
// signature workers and CheckTx read account numbers then): a read answers the state before or
// after that commit, and a value read from RocksDB is cached only if no commit updated the cache
// since the read began (the epoch), so a read that raced a commit never leaves a stale entry.
// The cache is cleared wholesale when it exceeds its capacity.
class RocksReader : public KVReader {
 public:
  explicit RocksReader(rocksdb::DB* db, size_t cache_entries = 262144) : db_(db), capacity_(cache_entries) {}
  std::optional<Bytes> get(std::string_view key) const override;
  bool get_into(std::string_view key, Bytes& out) const override;
  void iterate(std::string_view start, std::string_view end, const IterFn& fn) const override;
  // After a commit's RocksDB write: the cached entries of the written keys take their new values,
  // and the epoch moves on (reads begun before it do not fill the cache).
  void update_cache(const std::string& key, const std::optional<Bytes>& value);
  // The same for every pending write of `block`, under one lock.
  void update_cache(const CacheStore& block);

 private:
  rocksdb::DB* db_;
  size_t capacity_;
  mutable std::mutex mu_;
  // Point reads only, never iterated; looked up by string_view (no key copy on a hit).
  mutable std::unordered_map<std::string, std::optional<Bytes>, BytesHash, std::equal_to<>> cache_;
  uint64_t epoch_ = 0;  // commits that updated the cache (guarded by mu_)
  void refresh_locked(const std::string& key, const std::optional<Bytes>& value);  // mu_ held
};

class StateDB {
 public:
  // Opens (creating if missing) the DB at `path`. In-memory when path is empty (tests).
  static Result<std::unique_ptr<StateDB>> Open(const std::string& path);
  ~StateDB();

  const KVReader& committed() const { return *reader_; }
  int64_t height() const { return height_; }
  const Bytes& app_hash() const { return app_hash_; }

  // Computes the app hash that results from applying `block`'s writes on top of committed().
  Bytes prepare(const CacheStore& block);
  // Threads prepare() may use for the app-hash expansions (1: the caller's thread only). The
  // result does not depend on it: the partial hashes are added lane-wise, which is order-free.
  void set_hash_threads(unsigned n) { hash_threads_ = n ? n : 1; }
  // Persists the prepared block atomically at `height`. Must follow prepare() on the same block.
  Status commit(const CacheStore& block, int64_t height);
  // Free-form metadata in the meta column family, written with the next commit (e.g. chain-id).
  std::optional<Bytes> get_meta(std::string_view key) const;
  void stage_meta(std::string_view key, std::string_view value) { staged_meta_.emplace_back(key, value); }

 private:
  StateDB() = default;
  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<rocksdb::ColumnFamilyHandle> meta_cf_;
  std::unique_ptr<RocksReader> reader_;
  rocksdb::Env* mem_env_ = nullptr;
  int64_t height_ = 0;
  Bytes app_hash_;
  crypto::LtHash lthash_;
  crypto::LtHash pending_lthash_;
  std::vector<std::pair<std::string, std::string>> staged_meta_;
  unsigned hash_threads_ = 1;
};

// The app hash of an empty state (no keys).
Bytes EmptyAppHash();

}  // namespace depai::store
