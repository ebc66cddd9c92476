// Client-side helpers for x/provider: packing messages into Any, and parsing the textual forms
// the CLI and the provider daemon accept (decimal degrees, k=v attributes, GPU and storage specs).
// Pure functions; thread-safe. No floating point: degrees are parsed as decimal strings.
#pragma once

#include <google/protobuf/any.pb.h>

#include <string>
#include <utility>
#include <vector>

#include "depai/provider/v1/provider.pb.h"
#include "util/amount.h"
#include "util/result.h"

namespace depai::client {

// The registry fields a provider declares (endpoint, location, region, attributes, resources)
// are carried in a Provider message; other fields are ignored by the packers.
using ProviderDetails = depai::provider::v1::Provider;

google::protobuf::Any PackMsgRegisterProvider(const std::string& owner, const ProviderDetails& d, Amount collateral);
// collateral_add zero: no collateral added.
google::protobuf::Any PackMsgUpdateProvider(const std::string& owner, const ProviderDetails& d, Amount collateral_add);
google::protobuf::Any PackMsgDeregisterProvider(const std::string& owner);
google::protobuf::Any PackMsgSignProviderAttributes(const std::string& auditor, const std::string& provider,
                                                    const std::vector<std::pair<std::string, std::string>>& attrs);
// Empty `keys`: delete the whole attestation.
google::protobuf::Any PackMsgDeleteProviderAttributes(const std::string& auditor, const std::string& provider,
                                                      const std::vector<std::string>& keys);
google::protobuf::Any PackMsgProviderHeartbeat(const std::string& owner);

// "52.52" -> 52520000, "-13.405" -> -13405000. At most 6 decimal places; `max_abs_e6` bounds the
// result (90e6 for latitude, 180e6 for longitude). `what` names the value in errors.
Result<int64_t> ParseMicroDegrees(const std::string& s, int64_t max_abs_e6, const std::string& what);
// "key=value" (the value may contain '=').
Result<std::pair<std::string, std::string>> ParseAttribute(const std::string& s);
// "vendor:model:count[:vram_mib[:interface]]", e.g. "nvidia:h100:2:81920:sxm".
Result<depai::provider::v1::GpuResource> ParseGpu(const std::string& s);
// "class:size_mib", e.g. "ssd:1048576".
Result<depai::provider::v1::StorageResource> ParseStorage(const std::string& s);
// Decimal u64 with a field name in errors.
Result<uint64_t> ParseU64(const std::string& s, const std::string& what);

}  // namespace depai::client
