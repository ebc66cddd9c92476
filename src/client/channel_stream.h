// The payment stream of x/channel (doc/modules/channel.md, "The stream"): the payee's receiver
// (a WebSocket endpoint, Boost.Beast, at /channel/<id>/stream, plus GET /channel/<id>/best) and
// the payer's side that pays N units over it, by voucher or by ticket. Each binary frame from the
// payer is one payment (client/channel.h frames); the receiver verifies it (a signature for a
// voucher, one SHA-256 for a ticket), answers with the metered chunk it bought (chunk_bytes per
// unit of a deterministic data stream) or an error frame, and persists the best proof to its
// state file (every voucher, every 256 tickets, and when a stream ends: on the payer's close
// frame, before it is answered, so a returned PayOverStream finds its last payment in the file).
// Thread-safety: ChannelReceiver's Start/Stop from one thread; it serves each connection on a
// thread of its own, with its state behind a mutex. PayOverStream is a blocking call.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "client/channel.h"
#include "util/result.h"

namespace depai::client {

struct ReceiverOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  std::string state_path;              // "" = not persisted
  uint64_t unit_price = 1;             // what one unit (one chunk) costs, in the channel's denom
  uint64_t chunk_bytes = 32;           // metered bytes served per unit
};

class ChannelReceiver {
 public:
  ChannelReceiver(ReceiverState state, ReceiverOptions opts);
  ~ChannelReceiver();
  Status Start();  // binds and starts accepting
  void Stop();     // stops accepting, closes the connections, joins, persists
  uint16_t port() const { return port_; }
  nlohmann::json best() const;  // the state as JSON (what GET /best answers)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

struct PayOptions {
  std::string url;  // ws://127.0.0.1:PORT/channel/ID/stream
  uint64_t channel_id = 0;
  std::string chain_id;
  uint64_t units = 0;
  bool tickets = false;  // false: one voucher per unit; true: one voucher, then one ticket per unit
  uint64_t unit_price = 1;
};

struct PaySummary {
  uint64_t units = 0, paid = 0, total = 0, nonce = 0, bytes = 0;
  double elapsed_s = 0;
  nlohmann::json to_json(bool tickets) const;
};

// Pays `units` units over the stream with `key` (the channel's voucher key). It first asks the
// receiver for its best proof (GET .../best), checks that proof against its own key (a payee
// cannot make it sign above what it already signed), and continues from it (cumulative).
Result<PaySummary> PayOverStream(const crypto::KeyPair& key, const PayOptions& o);

}  // namespace depai::client
