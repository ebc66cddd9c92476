#include "store/state_db.h"

#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <deque>
#include <thread>

namespace depai::store {

namespace {
constexpr const char* kMetaHeight = "height";
constexpr const char* kMetaAppHash = "app_hash";
constexpr const char* kMetaLtHash = "lthash";
constexpr size_t kFlushBatchBytes = 64 << 20;  // RocksDB's default write_buffer_size
Error dbError(const rocksdb::Status& s) { return Error{"store", 1, "rocksdb: " + s.ToString()}; }
}  // namespace

Bytes EmptyAppHash() { return crypto::LtHash().checksum(); }

std::optional<Bytes> RocksReader::get(std::string_view key) const {
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    epoch = epoch_;
  }
  std::string v;
  auto s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &v);
  std::optional<Bytes> out;
  if (s.ok()) {
    out = std::move(v);
  } else if (!s.IsNotFound()) {
    throw StorageFault("rocksdb get: " + s.ToString());  // node fault, not a tx result
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch != epoch_) return out;  // a commit ran meanwhile: the value read may predate it
  if (cache_.size() >= capacity_) cache_.clear();
  cache_.emplace(std::string(key), out);
  return out;
}

bool RocksReader::get_into(std::string_view key, Bytes& out) const {
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (!it->second) {
        out.clear();
        return false;
      }
      out.assign(*it->second);
      return true;
    }
    epoch = epoch_;
  }
  auto s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &out);
  std::optional<Bytes> cached;
  if (s.ok()) {
    cached = out;
  } else if (s.IsNotFound()) {
    out.clear();
  } else {
    throw StorageFault("rocksdb get: " + s.ToString());  // node fault, not a tx result
  }
  const bool found = cached.has_value();
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch != epoch_) return found;  // a commit ran meanwhile: the value read may predate it
  if (cache_.size() >= capacity_) cache_.clear();
  cache_.emplace(std::string(key), std::move(cached));
  return found;
}

void RocksReader::refresh_locked(const std::string& key, const std::optional<Bytes>& value) {
  auto it = cache_.find(key);
  if (it != cache_.end()) it->second = value;
}

void RocksReader::update_cache(const std::string& key, const std::optional<Bytes>& value) {
  std::lock_guard<std::mutex> lock(mu_);
  refresh_locked(key, value);
  ++epoch_;
}

void RocksReader::update_cache(const CacheStore& block) {
  std::lock_guard<std::mutex> lock(mu_);
  block.for_each_write([&](const std::string& k, const std::optional<Bytes>& v) { refresh_locked(k, v); });
  ++epoch_;
}

void RocksReader::iterate(std::string_view start, std::string_view end, const IterFn& fn) const {
  rocksdb::ReadOptions ro;
  std::string upper(end);
  rocksdb::Slice upper_slice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
    auto k = it->key();
    auto v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  if (!it->status().ok()) throw StorageFault("rocksdb iterate: " + it->status().ToString());
}

Result<std::unique_ptr<StateDB>> StateDB::Open(const std::string& path) {
  std::unique_ptr<StateDB> sdb(new StateDB());
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::string p = path;
  if (path.empty()) {
    sdb->mem_env_ = rocksdb::NewMemEnv(rocksdb::Env::Default());
    opts.env = sdb->mem_env_;
    p = "/mem-state";
  }
  sdb->path_ = p;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(opts)},
      {"meta", rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(opts, p, cfs, &handles, &raw);
  if (!s.ok() && s.ToString().find("lock") != std::string::npos)
    return Error{"store", 2, "the state at " + p + " is in use by another depai process (stop it first)"};
  if (!s.ok()) return dbError(s);
  sdb->db_.reset(raw);
  delete handles[0];  // default CF handle is owned by the DB via DefaultColumnFamily()
  sdb->meta_cf_.reset(handles[1]);
  sdb->reader_ = std::make_unique<RocksReader>(raw);
  if (auto h = sdb->get_meta(kMetaHeight)) sdb->height_ = static_cast<int64_t>(GetU64BE(*h));
  if (auto lt = sdb->get_meta(kMetaLtHash)) sdb->lthash_ = crypto::LtHash::Deserialize(*lt);
  sdb->app_hash_ = sdb->get_meta(kMetaAppHash).value_or(EmptyAppHash());
  sdb->pending_lthash_ = sdb->lthash_;
  return sdb;
}

StateDB::~StateDB() {
  if (db_) {
    // Flush the memtables on a clean close, so the next Open does not replay the WAL into memory
    // (a genesis block is one write batch of every genesis key: replayed, it is a memtable of that size).
    if (!mem_env_) db_->Flush(rocksdb::FlushOptions(), {db_->DefaultColumnFamily(), meta_cf_.get()});
    meta_cf_.reset();
    db_->Close();
    db_.reset();
  }
  delete mem_env_;
}

std::optional<Bytes> StateDB::get_meta(std::string_view key) const {
  std::string v;
  auto s = db_->Get(rocksdb::ReadOptions(), meta_cf_.get(), rocksdb::Slice(key.data(), key.size()), &v);
  if (!s.ok()) return std::nullopt;
  return v;
}

Bytes StateDB::prepare(const CacheStore& block) {
  // Originals recorded by the block branch are the committed values only when its parent is
  // the committed state itself.
  const bool use_originals = block.parent() == reader_.get();
  struct Change {
    const std::string* key;
    const std::optional<Bytes>* old;
    const std::optional<Bytes>* now;
  };
  std::vector<Change> changes;
  std::deque<std::optional<Bytes>> fetched;  // old values read here (a deque: pointers stay valid)
  block.for_each_write([&](const std::string& k, const std::optional<Bytes>& v, const std::optional<Bytes>* orig) {
    const std::optional<Bytes>* old = orig;
    if (!use_originals || !orig) old = &fetched.emplace_back(reader_->get(k));
    if (*old == v) return;  // a no-op write leaves the commitment unchanged
    changes.push_back(Change{&k, old, &v});
  });
  auto hash_range = [&](size_t from, size_t to, crypto::LtHash& acc) {
    for (size_t i = from; i < to; ++i) {
      const Change& c = changes[i];
      if (*c.old) acc.remove(*c.key, **c.old);
      if (*c.now) acc.add(*c.key, **c.now);
    }
  };
  crypto::LtHash h = lthash_;
  const size_t threads = changes.size() >= 512 ? hash_threads_ : 1;
  if (threads <= 1) {
    hash_range(0, changes.size(), h);
  } else {
    // Each thread sums its share into its own hash; the shares add up to the same lanes in any order.
    std::vector<crypto::LtHash> parts(threads - 1);
    std::vector<std::thread> pool;
    const size_t per = (changes.size() + threads - 1) / threads;
    for (size_t t = 1; t < threads; ++t)
      pool.emplace_back([&, t] {
        hash_range(std::min(changes.size(), t * per), std::min(changes.size(), (t + 1) * per), parts[t - 1]);
      });
    hash_range(0, std::min(changes.size(), per), h);
    for (auto& th : pool) th.join();
    for (const auto& p : parts) h.merge(p);
  }
  pending_lthash_ = h;
  return h.checksum();
}

Status StateDB::commit(const CacheStore& block, int64_t height) {
  rocksdb::WriteBatch batch;
  block.for_each_write([&](const std::string& k, const std::optional<Bytes>& v) {
    if (v)
      batch.Put(k, *v);
    else
      batch.Delete(k);
  });
  Bytes app_hash = pending_lthash_.checksum();
  batch.Put(meta_cf_.get(), kMetaHeight, U64BE(static_cast<uint64_t>(height)));
  batch.Put(meta_cf_.get(), kMetaAppHash, app_hash);
  batch.Put(meta_cf_.get(), kMetaLtHash, pending_lthash_.serialize());
  for (auto& [k, v] : staged_meta_) batch.Put(meta_cf_.get(), k, v);
  rocksdb::WriteOptions wo;
  wo.sync = mem_env_ == nullptr;
  auto s = db_->Write(wo, &batch);
  if (!s.ok()) return dbError(s);
  // A block far larger than a memtable (a genesis import) is flushed at once: its memtable is freed
  // and a crash does not replay it from the WAL into memory.
  if (!mem_env_ && batch.GetDataSize() > kFlushBatchBytes) {
    s = db_->Flush(rocksdb::FlushOptions(), {db_->DefaultColumnFamily(), meta_cf_.get()});
    if (!s.ok()) return dbError(s);
  }
  reader_->update_cache(block);
  staged_meta_.clear();
  height_ = height;
  app_hash_ = app_hash;
  lthash_ = pending_lthash_;
  return {};
}

}  // namespace depai::store
