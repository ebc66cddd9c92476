// Price sources for a validator's vote extension and the devnet feeder (`depai oracle feed`):
//   file:<path>                 the file holds one decimal USD price ("0.4215")
//   http://host:port/path#/ptr  a JSON document; the JSON pointer (RFC 6901) names the price, a
//                               number or a decimal string ("#/data/price"); no pointer = the root
//   https://...                 refused at parse time: the HTTP client has no TLS yet
//   fixed:<decimal>             always that price (tests, demos)
// Every fetch returns nano-USD per DPAI (x/oracle's price_e9), or an error naming the source.
// More than 9 decimals are truncated. Thread-safe: a source holds only its immutable spec.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

namespace depai::oracle {

class PriceSource {
 public:
  virtual ~PriceSource() = default;
  virtual Result<uint64_t> fetch() const = 0;
  virtual std::string describe() const = 0;
};

// Parses one source spec; errors (codespace "oracle-source") say what is wrong with it.
Result<std::unique_ptr<PriceSource>> ParseSource(const std::string& spec, int http_timeout_ms = 2000);
Result<std::vector<std::unique_ptr<PriceSource>>> ParseSources(const std::vector<std::string>& specs,
                                                               int http_timeout_ms = 2000);

// The median of several sources' prices: the middle one, or the floor of the mean of the two
// middle ones. 0 for none.
uint64_t MedianOf(std::vector<uint64_t> v);

}  // namespace depai::oracle
