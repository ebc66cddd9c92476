// The DPAI/USD price as modules other than x/oracle see it (x/bme, x/rewards), and the fixed
// point they share. Pure data and integer arithmetic; no state. Thread-safe (no shared state).
//
// Fixed point: every price is nano-USD per DPAI ("price_e9": USD per DPAI x 10^9). Since udpai is
// 10^-6 DPAI and ucredit is 10^-6 USD (one credit is one US dollar), the USD value of an udpai
// amount in ucredit (micro-USD) is
//     ucredit = floor(udpai * price_e9 / 10^9)
// and the udpai worth of a ucredit amount is floor(ucredit * 10^9 / price_e9).
#pragma once

#include <cstdint>
#include <string>

#include "util/amount.h"
#include "util/result.h"

namespace depai::x {

inline constexpr uint64_t kPriceScale = 1000000000;  // 10^9: price_e9 units per USD/DPAI
inline constexpr const char* kCreditDenom = "ucredit";
inline constexpr const char* kNativeDenom = "udpai";

// x/oracle's answer for the current block (x/oracle/keeper.h `price_info`).
struct PriceInfo {
  bool available = false;  // false: stale, too few reports, or no price yet (reason says which)
  std::string reason;      // empty when available: "price is stale: last update at height 7 ..."
  uint64_t price_e9 = 0;   // the last aggregated median (0 when none yet)
  uint64_t ema_e9 = 0;     // EMA of the medians
  uint64_t conf_e9 = 0;    // confidence half-band (EMA of the reports' dispersion)
  int64_t height = 0;      // height of the last aggregation
  int64_t time_ms = 0;     // block time of the last aggregation
  uint32_t reports = 0;    // reports in the last aggregation

  // Helium's conservative price, ema - 2*conf; 0 when conf is that wide.
  uint64_t conservative_e9() const { return ema_e9 > 2 * conf_e9 ? ema_e9 - 2 * conf_e9 : 0; }
};

// ucredit (micro-USD) worth of `udpai` at `price_e9`, rounded down.
inline Result<Amount> UsdValue(Amount udpai, uint64_t price_e9) { return udpai.mul_div(price_e9, kPriceScale); }

}  // namespace depai::x
