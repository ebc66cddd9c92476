// x/oracle vote extensions: the validator set from InitChain, the extension payload, the
// injection of the extended commit into a block, its verification (CometBFT v0.38's canonical
// vote-extension sign bytes, ed25519) and its aggregation.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>

#include "crypto/ed25519.h"
#include "x/oracle/keeper.h"
#include "x/oracle/keys.h"
#include "x/types/codec.h"
#include "x/types/module.h"

namespace depai::x::oracle {

namespace v1 = depai::oracle::v1;

namespace {
Error Bad(const std::string& m) { return OracleErr(kErrInvalidInjection, "invalid oracle injection: " + m); }
std::string Hex(std::string_view b) { return HexEncode(b, true); }
}  // namespace

Status Keeper::set_validators(store::KVStore& s, const std::vector<std::pair<Bytes, int64_t>>& vals) const {
  std::vector<std::string> old;
  s.iterate(keys::kValidatorPrefix, store::PrefixEnd(keys::kValidatorPrefix),
            [&](std::string_view k, std::string_view) {
              old.emplace_back(k);
              return true;
            });
  for (const auto& k : old) s.del(k);
  for (const auto& [pk, power] : vals) {
    if (pk.size() != 32) return OracleErr(kErrInvalidParams, "validator public key must be 32 bytes (ed25519)");
    if (power <= 0) return OracleErr(kErrInvalidParams, "validator power must be positive");
    Validator v;
    v.set_address(crypto::AddressOf(pk));
    v.set_pub_key(pk);
    v.set_power(power);
    if (s.get(keys::Validator(v.address())))
      return OracleErr(kErrInvalidParams, "validator " + Hex(v.address()) + " is listed twice");
    s.set(keys::Validator(v.address()), DeterministicSerialize(v));
  }
  return {};
}

Status Keeper::for_each_validator(const store::KVReader& s, const ValidatorFn& fn) const {
  return ForEachRecord(
      s, keys::kValidatorPrefix, [](std::string_view v) { return DecodeRecord<Validator>(v, "oracle validator"); },
      [&](std::string_view, const Validator& v) { return fn(v); });
}

Result<std::optional<Validator>> Keeper::validator(const store::KVReader& s, std::string_view addr) const {
  auto v = s.get(keys::Validator(addr));
  if (!v) return std::optional<Validator>();
  DEPAI_ASSIGN_OR_RETURN(auto rec, DecodeRecord<Validator>(*v, "oracle validator"));
  return std::optional<Validator>(std::move(rec));
}

Result<int64_t> Keeper::ve_enable_height(const store::KVReader& s) const {
  auto v = s.get(keys::kVeHeight);
  if (!v) return int64_t{0};
  DEPAI_ASSIGN_OR_RETURN(uint64_t h, DecodeU64Record(*v, "oracle vote extension height"));
  return static_cast<int64_t>(h);
}

void Keeper::set_ve_enable_height(store::KVStore& s, int64_t h) const {
  if (h <= 0) {
    s.del(keys::kVeHeight);
    return;
  }
  s.set(keys::kVeHeight, U64BE(static_cast<uint64_t>(h)));
}

Result<bool> Keeper::injection_required(const store::KVReader& s, int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(int64_t e, ve_enable_height(s));
  return e > 0 && height > e;
}

Result<std::optional<uint64_t>> Keeper::decode_extension(const store::KVReader& s, std::string_view ext) const {
  if (ext.empty()) return std::optional<uint64_t>();
  if (ext.size() > kMaxExtensionBytes)
    return OracleErr(kErrInvalidExtension, "vote extension is " + std::to_string(ext.size()) + " bytes, at most " +
                                               std::to_string(kMaxExtensionBytes));
  v1::OracleVoteExtension e;
  if (!DecodeStrict(ext, &e)) return OracleErr(kErrInvalidExtension, "vote extension does not decode");
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  if (e.price_e9() == 0) return OracleErr(kErrInvalidExtension, "vote extension price is 0");
  if (e.price_e9() > p.max_price_e9())
    return OracleErr(kErrInvalidExtension, "vote extension price_e9 " + std::to_string(e.price_e9()) +
                                               " exceeds max_price_e9 " + std::to_string(p.max_price_e9()));
  if (DeterministicSerialize(e) != ext)
    return OracleErr(kErrInvalidExtension, "vote extension is not in canonical encoding");
  return std::optional<uint64_t>(e.price_e9());
}

Bytes Keeper::EncodeExtension(std::optional<uint64_t> price_e9) {
  if (!price_e9 || *price_e9 == 0) return {};
  v1::OracleVoteExtension e;
  e.set_price_e9(*price_e9);
  return DeterministicSerialize(e);
}

bool Keeper::IsInjection(std::string_view tx) { return tx.substr(0, kInjectionMagic.size()) == kInjectionMagic; }

Bytes Keeper::EncodeInjection(const InjectedVotes& v) {
  return std::string(kInjectionMagic) + DeterministicSerialize(v);
}

Result<InjectedVotes> Keeper::DecodeInjection(std::string_view tx) {
  if (!IsInjection(tx)) return Bad("no magic prefix");
  InjectedVotes v;
  const std::string_view body = tx.substr(kInjectionMagic.size());
  if (!DecodeStrict(body, &v)) return Bad("the votes do not decode");
  if (DeterministicSerialize(v) != body) return Bad("the votes are not in canonical encoding");
  return v;
}

Bytes Keeper::ExtensionSignBytes(std::string_view extension, int64_t height, int64_t round, std::string_view chain_id) {
  v1::CanonicalVoteExtension c;
  c.set_extension(std::string(extension));
  c.set_height(height);
  c.set_round(round);
  c.set_chain_id(std::string(chain_id));
  const std::string body = DeterministicSerialize(c);
  std::string out;
  {
    google::protobuf::io::StringOutputStream os(&out);
    google::protobuf::io::CodedOutputStream cos(&os);
    cos.WriteVarint32(static_cast<uint32_t>(body.size()));
  }
  return out + body;
}

Status Keeper::check_injection(const store::KVReader& s, const InjectedVotes& v, std::string_view chain_id,
                               int64_t height) const {
  if (v.height() != height - 1)
    return Bad("votes of height " + std::to_string(v.height()) + " in the block at height " + std::to_string(height) +
               " (expected " + std::to_string(height - 1) + ")");
  if (v.round() < 0) return Bad("negative round");
  uint64_t total = 0, committed = 0;
  size_t n_validators = 0;
  DEPAI_TRY(for_each_validator(s, [&](const Validator& val) {
    total += static_cast<uint64_t>(val.power());
    ++n_validators;
    return true;
  }));
  if (n_validators == 0) return Bad("no validator set (InitChain gave none)");
  if (static_cast<size_t>(v.votes_size()) > n_validators)
    return Bad(std::to_string(v.votes_size()) + " votes for " + std::to_string(n_validators) + " validators");
  std::vector<std::string> seen;
  for (const auto& vote : v.votes()) {
    const std::string who = Hex(vote.validator_address());
    if (std::find(seen.begin(), seen.end(), vote.validator_address()) != seen.end())
      return Bad("validator " + who + " votes twice");
    seen.push_back(vote.validator_address());
    DEPAI_ASSIGN_OR_RETURN(auto val, validator(s, vote.validator_address()));
    if (!val) return Bad("vote from " + who + ", which is not a validator");
    if (vote.power() != val->power())
      return Bad("validator " + who + " has power " + std::to_string(val->power()) + ", the vote claims " +
                 std::to_string(vote.power()));
    if (vote.block_id_flag() == kFlagAbsent || vote.block_id_flag() == kFlagNil) {
      if (!vote.vote_extension().empty() || !vote.extension_signature().empty())
        return Bad("validator " + who + " did not precommit the block but carries an extension");
      continue;
    }
    if (vote.block_id_flag() != kFlagCommit)
      return Bad("validator " + who + " has block_id_flag " + std::to_string(vote.block_id_flag()));
    const Bytes sb = ExtensionSignBytes(vote.vote_extension(), v.height(), v.round(), chain_id);
    if (!crypto::Verify(val->pub_key(), sb, vote.extension_signature()))
      return Bad("the extension signature of validator " + who + " does not verify");
    auto payload = decode_extension(s, vote.vote_extension());
    if (!payload.ok()) {
      if (IsFault(payload.error())) return payload.error();
      return Bad("validator " + who + ": " + payload.error().message);
    }
    committed += static_cast<uint64_t>(val->power());
  }
  if (3 * static_cast<unsigned __int128>(committed) <= 2 * static_cast<unsigned __int128>(total))
    return Bad("the signed commit votes hold " + std::to_string(committed) + " of " + std::to_string(total) +
               " power; more than 2/3 is needed");
  return {};
}

Status Keeper::aggregate_injection(Context& ctx, const InjectedVotes& v) const {
  const auto& s = *ctx.store;
  uint64_t total = 0, reported = 0;
  DEPAI_TRY(for_each_validator(s, [&](const Validator& val) {
    total += static_cast<uint64_t>(val.power());
    return true;
  }));
  std::vector<Report> reports;
  for (const auto& vote : v.votes()) {
    if (vote.block_id_flag() != kFlagCommit) continue;
    DEPAI_ASSIGN_OR_RETURN(auto val, validator(s, vote.validator_address()));
    if (!val) continue;
    auto payload = decode_extension(s, vote.vote_extension());
    if (!payload.ok()) {
      if (IsFault(payload.error())) return payload.error();
      continue;
    }
    if (!*payload) continue;
    reports.push_back(Report{**payload, static_cast<uint64_t>(val->power())});
    reported += static_cast<uint64_t>(val->power());
  }
  const uint32_t bps = total == 0 ? 0 : static_cast<uint32_t>(static_cast<unsigned __int128>(reported) * 10000 / total);
  return aggregate(ctx, reports, v1::SOURCE_VOTE_EXTENSIONS, bps);
}

}  // namespace depai::x::oracle
