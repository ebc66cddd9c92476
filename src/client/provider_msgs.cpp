#include "client/provider_msgs.h"

#include <algorithm>

#include "x/types/codec.h"

namespace depai::client {

namespace pv = depai::provider::v1;

namespace {
Error ParseErr(const std::string& m) { return Error{"client", 1, m}; }

google::protobuf::Any Pack(const google::protobuf::Message& m) {
  google::protobuf::Any any;
  any.set_type_url("/" + m.GetDescriptor()->full_name());
  any.set_value(x::DeterministicSerialize(m));
  return any;
}

template <typename M>
void CopyDetails(const ProviderDetails& d, M* m) {
  m->set_endpoint(d.endpoint());
  *m->mutable_location() = d.location();
  m->set_region(d.region());
  *m->mutable_attributes() = d.attributes();
  *m->mutable_resources() = d.resources();
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}
}  // namespace

google::protobuf::Any PackMsgRegisterProvider(const std::string& owner, const ProviderDetails& d, Amount collateral) {
  pv::MsgRegisterProvider m;
  m.set_owner(owner);
  CopyDetails(d, &m);
  m.mutable_collateral()->set_denom("udpai");
  m.mutable_collateral()->set_amount(collateral.str());
  return Pack(m);
}

google::protobuf::Any PackMsgUpdateProvider(const std::string& owner, const ProviderDetails& d, Amount collateral_add) {
  pv::MsgUpdateProvider m;
  m.set_owner(owner);
  CopyDetails(d, &m);
  if (!collateral_add.is_zero()) {
    m.mutable_collateral_add()->set_denom("udpai");
    m.mutable_collateral_add()->set_amount(collateral_add.str());
  }
  return Pack(m);
}

google::protobuf::Any PackMsgDeregisterProvider(const std::string& owner) {
  pv::MsgDeregisterProvider m;
  m.set_owner(owner);
  return Pack(m);
}

google::protobuf::Any PackMsgSignProviderAttributes(const std::string& auditor, const std::string& provider,
                                                    const std::vector<std::pair<std::string, std::string>>& attrs) {
  pv::MsgSignProviderAttributes m;
  m.set_auditor(auditor);
  m.set_provider(provider);
  for (const auto& [k, v] : attrs) {
    auto* a = m.add_attributes();
    a->set_key(k);
    a->set_value(v);
  }
  return Pack(m);
}

google::protobuf::Any PackMsgDeleteProviderAttributes(const std::string& auditor, const std::string& provider,
                                                      const std::vector<std::string>& keys) {
  pv::MsgDeleteProviderAttributes m;
  m.set_auditor(auditor);
  m.set_provider(provider);
  for (const auto& k : keys) m.add_keys(k);
  return Pack(m);
}

google::protobuf::Any PackMsgProviderHeartbeat(const std::string& owner) {
  pv::MsgProviderHeartbeat m;
  m.set_owner(owner);
  return Pack(m);
}

Result<int64_t> ParseMicroDegrees(const std::string& s, int64_t max_abs_e6, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return ParseErr(what + " '" + s + "' " + why + " (expected decimal degrees such as 52.52 or -13.405)");
  };
  std::string_view v(s);
  bool neg = false;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    neg = v[0] == '-';
    v.remove_prefix(1);
  }
  size_t dot = v.find('.');
  std::string_view ip = v.substr(0, dot), fp = dot == std::string_view::npos ? "" : v.substr(dot + 1);
  if (ip.empty() && fp.empty()) return bad("is not a number");
  if (dot != std::string_view::npos && fp.empty()) return bad("has no digits after the point");
  auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(ip) || !digits(fp)) return bad("is not a number");
  if (fp.size() > 6) return bad("has more than 6 decimal places");
  if (ip.size() > 3) return bad("is out of range");
  int64_t whole = 0;
  for (char c : ip) whole = whole * 10 + (c - '0');
  int64_t frac = 0;
  for (size_t i = 0; i < 6; ++i) frac = frac * 10 + (i < fp.size() ? fp[i] - '0' : 0);
  int64_t e6 = whole * 1'000'000 + frac;
  if (e6 > max_abs_e6)
    return bad("is out of range [-" + std::to_string(max_abs_e6 / 1'000'000) + ", " +
               std::to_string(max_abs_e6 / 1'000'000) + "]");
  return neg ? -e6 : e6;
}

Result<std::pair<std::string, std::string>> ParseAttribute(const std::string& s) {
  size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0) return ParseErr("attribute '" + s + "' must be key=value");
  return std::make_pair(s.substr(0, eq), s.substr(eq + 1));
}

Result<uint64_t> ParseU64(const std::string& s, const std::string& what) {
  if (s.empty() || s.size() > 20 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return ParseErr(what + " '" + s + "' is not a non-negative integer");
  unsigned __int128 v = 0;
  for (char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
  if (v > UINT64_MAX) return ParseErr(what + " '" + s + "' is too large");
  return static_cast<uint64_t>(v);
}

Result<pv::GpuResource> ParseGpu(const std::string& s) {
  auto parts = Split(s, ':');
  if (parts.size() < 3 || parts.size() > 5 || parts[0].empty() || parts[1].empty())
    return ParseErr("gpu '" + s + "' must be vendor:model:count[:vram_mib[:interface]], e.g. nvidia:h100:2:81920:sxm");
  pv::GpuResource g;
  g.set_vendor(parts[0]);
  g.set_model(parts[1]);
  auto count = ParseU64(parts[2], "gpu count");
  if (!count.ok()) return count.error();
  if (*count == 0 || *count > UINT32_MAX) return ParseErr("gpu count in '" + s + "' must be 1..4294967295");
  g.set_count(static_cast<uint32_t>(*count));
  if (parts.size() >= 4) {
    auto vram = ParseU64(parts[3], "gpu vram_mib");
    if (!vram.ok()) return vram.error();
    g.set_vram_mib(*vram);
  }
  if (parts.size() == 5) g.set_interface(parts[4]);
  return g;
}

Result<pv::StorageResource> ParseStorage(const std::string& s) {
  auto parts = Split(s, ':');
  if (parts.size() != 2 || parts[0].empty())
    return ParseErr("storage '" + s + "' must be class:size_mib, e.g. ssd:1048576");
  auto size = ParseU64(parts[1], "storage size_mib");
  if (!size.ok()) return size.error();
  pv::StorageResource r;
  r.set_storage_class(parts[0]);
  r.set_size_mib(*size);
  return r;
}

}  // namespace depai::client
