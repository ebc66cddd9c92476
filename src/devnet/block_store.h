// BlockStore: the devnet's blocks and tx results in their own RocksDB (<home>/data/blocks).
//
// Keys: "b/<height be64>" -> block JSON; "t/<tx hash hex>" -> "<height>/<index>"; "h" -> last height.
// save() writes one block and its tx index in one fsynced batch, BEFORE the App commits it, so
// after a crash the store is at most one block ahead of the App and the block can be replayed.
// Thread-safe (RocksDB is).
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/abci_types.h"
#include "util/result.h"

namespace depai::devnet {

struct StoredBlock {
  int64_t height = 0;
  int64_t time_unix_ms = 0;
  Bytes hash, prev_hash, proposer, app_hash;
  std::vector<Bytes> txs;
  std::vector<app::ExecTxResult> results;
  std::vector<app::Event> events;
};

struct TxLocation {
  int64_t height = 0;
  size_t index = 0;
};

class BlockStore {
 public:
  static Result<std::unique_ptr<BlockStore>> Open(const std::string& path);
  int64_t height() const;
  Status save(const StoredBlock& b);
  std::optional<StoredBlock> get(int64_t height) const;
  std::optional<TxLocation> find_tx(const std::string& hash_hex_upper) const;

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace depai::devnet
