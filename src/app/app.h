// App: the depai state machine behind the ABCI 2.0 method set.
//
// Contract (same as CometBFT's): FinalizeBlock computes the block's results and the new app
// hash and persists nothing; Commit persists the block atomically; Info reports the last
// committed height and app hash so a driver can replay missing blocks. CheckTx runs on its own
// branch of committed state ("check state"), reset at every Commit. Transaction failures are
// results (code/codespace/log); a returned Error from FinalizeBlock/Commit is a node fault
// (e.g. a broken invariant) and the driver must stop.
// Thread-safety: none. Drivers serialise all calls (devnet: one mutex; ABCI: one consensus
// connection). Query may be called between blocks.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/abci_types.h"
#include "store/state_db.h"
#include "util/result.h"

namespace depai::x {
class Module;
}

namespace depai::app {

// Optional accelerator for signature checks: a driver may pre-verify the signatures of a
// block's txs in parallel (outside consensus code) and answer here. The App calls verified()
// before doing the check itself; a false answer only means "not known", never "invalid", so
// results are identical with or without a cache.
class SigCache {
 public:
  virtual ~SigCache() = default;
  virtual bool verified(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig) const = 0;
};

// The node's own DPAI/USD price for its vote extension (src/oracle's poller). Outside consensus:
// ExtendVote may differ per validator; only what lands in a block is deterministic. price_e9()
// must never block (it answers from a cache); nullopt when no source has a fresh price.
class PriceFeed {
 public:
  virtual ~PriceFeed() = default;
  virtual std::optional<uint64_t> price_e9() const = 0;
};

struct AppOptions {
  std::string db_path;  // RocksDB directory; empty = in-memory (tests)
  size_t max_block_txs = 10000;
  // Threads the app-hash update of Commit's prepare step may use (store::StateDB::set_hash_threads;
  // 0 means 1); the hash does not depend on it.
  unsigned hash_threads = 1;
};

class App {
 public:
  static Result<std::unique_ptr<App>> Open(const AppOptions& opts);
  ~App();

  ResponseInfo Info(const RequestInfo& req);
  Result<ResponseInitChain> InitChain(const RequestInitChain& req);
  ResponseCheckTx CheckTx(const RequestCheckTx& req);
  ResponsePrepareProposal PrepareProposal(const RequestPrepareProposal& req);
  ResponseProcessProposal ProcessProposal(const RequestProcessProposal& req);
  // ABCI 2.0 vote extensions (x/oracle): the node's price from the PriceFeed, and the check of
  // another validator's payload (decodes strictly, 0 < price <= max_price_e9; empty is "no price").
  ResponseExtendVote ExtendVote(const RequestExtendVote& req);
  ResponseVerifyVoteExtension VerifyVoteExtension(const RequestVerifyVoteExtension& req);
  Result<ResponseFinalizeBlock> FinalizeBlock(const RequestFinalizeBlock& req);
  Result<ResponseCommit> Commit();
  ResponseQuery Query(const RequestQuery& req);

  void set_sig_cache(const SigCache* cache) { sig_cache_ = cache; }
  void set_price_feed(const PriceFeed* feed) { price_feed_ = feed; }
  const std::string& chain_id() const;
  int64_t last_height() const;
  const store::KVReader& committed_state() const;
  // Genesis export of the committed state (JSON), for `depai export`.
  Result<std::string> ExportGenesis() const;
  // Decoded, human-readable form of a tx (messages, memo, fee, signer), for the API.
  // Returns an object with "error" when the bytes do not decode.
  std::string TxToJson(std::string_view tx) const;
  // The modules in genesis/hook order (tests drive their random message generators).
  std::vector<const x::Module*> Modules() const;
  // Full invariant check over committed state (start-up and tests).
  Status CheckInvariants() const;

  // For parallel pre-verification: the (pubkey, sign bytes, signature) triples of a tx,
  // using committed state for account numbers. Empty when the tx cannot be decoded.
  struct SigCheck {
    Bytes pubkey, sign_bytes, sig;
  };
  // Account numbers a caller has already seen (a number never changes once assigned, and
  // accounts are never deleted): SigChecksFor asks it before reading the account, and tells it
  // each number it read. A wrong answer cannot admit anything: the App compares the sign bytes.
  class AccountNumbers {
   public:
    virtual ~AccountNumbers() = default;
    virtual std::optional<uint64_t> find(std::string_view address) const = 0;
    virtual void put(std::string_view address, uint64_t number) = 0;
  };
  std::vector<SigCheck> SigChecksFor(std::string_view tx, AccountNumbers* known = nullptr) const;

  class Impl;

 private:
  Result<ResponseFinalizeBlock> FinalizeBlockImpl(const RequestFinalizeBlock& req);
  Result<std::string> ExportGenesisImpl() const;
  explicit App(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  const SigCache* sig_cache_ = nullptr;
  const PriceFeed* price_feed_ = nullptr;
};

}  // namespace depai::app
