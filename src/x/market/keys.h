// x/market store keys (module-internal: only x/market's keeper files include this; tests may, to
// corrupt a record on purpose). Ids and heights are u64 big-endian, so keys sort numerically.
//   market/order/<id>                          Order
//   market/bid/<order><provider20>             Bid
//   market/lease/<id>                          Lease
//   market/escrow/<order>                      Escrow
//   market/params                              Params
//   market/seq/order, market/seq/lease         last assigned id (u64)
//   market/open/<order>                        index: open orders
//   market/window/<bid_window_end><order>      index: auto-select orders by window end
//   market/sched/<height><kind><lease>         index: scheduled escrow events (kind: 1 low
//                                              balance, 2 exhausted, 3 grace end)
//   market/plx/<provider20><lease>             index: leases by provider (all states)
//   market/olx/<owner20><order>                index: orders by owner
// Index values are empty. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace depai::x::market::keys {

inline constexpr std::string_view kOrderPrefix = "market/order/";
inline constexpr std::string_view kBidPrefix = "market/bid/";
inline constexpr std::string_view kLeasePrefix = "market/lease/";
inline constexpr std::string_view kEscrowPrefix = "market/escrow/";
inline constexpr std::string_view kParams = "market/params";
inline constexpr std::string_view kSeqPrefix = "market/seq/";
inline constexpr std::string_view kOpenPrefix = "market/open/";
inline constexpr std::string_view kWindowPrefix = "market/window/";
inline constexpr std::string_view kSchedPrefix = "market/sched/";
inline constexpr std::string_view kPlxPrefix = "market/plx/";
inline constexpr std::string_view kOlxPrefix = "market/olx/";

inline std::string Cat(std::string_view p, std::string_view a = {}, std::string_view b = {}) {
  std::string k;
  k.reserve(p.size() + a.size() + b.size());
  k.append(p);
  k.append(a);
  k.append(b);
  return k;
}
// Heights below 0 sort as 0 (they never occur in state; imports start at height >= 1).
inline Bytes H64(int64_t h) { return U64BE(static_cast<uint64_t>(h < 0 ? 0 : h)); }

inline std::string Order(uint64_t id) { return Cat(kOrderPrefix, U64BE(id)); }
inline std::string BidsOf(uint64_t order) { return Cat(kBidPrefix, U64BE(order)); }
inline std::string Bid(uint64_t order, std::string_view provider20) {
  return Cat(kBidPrefix, U64BE(order), provider20);
}
inline std::string Lease(uint64_t id) { return Cat(kLeasePrefix, U64BE(id)); }
inline std::string Escrow(uint64_t order) { return Cat(kEscrowPrefix, U64BE(order)); }
inline std::string Seq(std::string_view name) { return Cat(kSeqPrefix, name); }
inline std::string Open(uint64_t order) { return Cat(kOpenPrefix, U64BE(order)); }
inline std::string Window(int64_t height, uint64_t order) { return Cat(kWindowPrefix, H64(height), U64BE(order)); }
// Every window entry with a height below `height` sorts before this key.
inline std::string WindowsBefore(int64_t height) { return Cat(kWindowPrefix, H64(height)); }
inline std::string Sched(int64_t height, uint8_t kind, uint64_t lease) {
  return Cat(kSchedPrefix, H64(height), std::string(1, static_cast<char>(kind)) + U64BE(lease));
}
inline std::string SchedBefore(int64_t height) { return Cat(kSchedPrefix, H64(height)); }
inline std::string LeasesOf(std::string_view provider20) { return Cat(kPlxPrefix, provider20); }
inline std::string ProviderLease(std::string_view provider20, uint64_t lease) {
  return Cat(kPlxPrefix, provider20, U64BE(lease));
}
inline std::string OrdersOf(std::string_view owner20) { return Cat(kOlxPrefix, owner20); }
inline std::string OwnerOrder(std::string_view owner20, uint64_t order) {
  return Cat(kOlxPrefix, owner20, U64BE(order));
}

}  // namespace depai::x::market::keys
