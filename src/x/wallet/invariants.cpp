// x/wallet invariants: every record decodes; each wallet is stored under its own address and
// indexed under its owner; its policy parses; every session key and spend record belongs to an
// existing wallet; spend records hold valid coins. A break is Fault(kFaultInvariant).
#include "crypto/bech32.h"
#include "x/types/codec.h"
#include "x/wallet/keeper.h"
#include "x/wallet/keys.h"

namespace depai::x::wallet {

Status Keeper::check_invariants(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(const Params params, this->params(s));
  Status st;
  auto broken = [&](const std::string& m) {
    st = Fault(kFaultInvariant, "wallet invariant: " + m);
    return false;
  };
  s.iterate(keys::kWalletPrefix, store::PrefixEnd(keys::kWalletPrefix), [&](std::string_view k, std::string_view v) {
    auto w = DecodeRecord<Wallet>(v, "wallet");
    if (!w.ok()) {
      st = w.error();
      return false;
    }
    const std::string_view a = k.substr(keys::kWalletPrefix.size());
    auto addr = crypto::AddressFromBech32(w->address());
    auto owner = crypto::AddressFromBech32(w->owner());
    if (!addr.ok() || addr.value() != a) return broken("wallet stored under another address than " + w->address());
    if (!owner.ok()) return broken("wallet " + w->address() + " has an invalid owner");
    if (!s.get(keys::Owner(owner.value(), a)))
      return broken("wallet " + w->address() + " is not indexed under its owner");
    if (!ParsePolicy(w->policy(), params, "policy").ok())
      return broken("wallet " + w->address() + " has an invalid policy");
    return true;
  });
  if (!st.ok()) return st;
  for (auto prefix : {keys::kKeyPrefix, keys::kKeySpendPrefix, keys::kSpendPrefix}) {
    s.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
      const std::string_view rest = k.substr(prefix.size());
      if (rest.size() < 20) return broken("a record key is too short");
      if (!s.get(keys::Wallet(rest.substr(0, 20)))) return broken("a record of a wallet that does not exist");
      if (prefix == keys::kKeyPrefix) {
        auto key = DecodeRecord<SessionKey>(v, "session key");
        if (!key.ok()) {
          st = key.error();
          return false;
        }
        if (key->pub_key() != rest.substr(20)) return broken("a session key stored under another key");
      } else {
        auto sp = DecodeRecord<Spend>(v, "spend");
        if (!sp.ok()) {
          st = sp.error();
          return false;
        }
        if (!CoinsFromProto(sp->spent()).ok()) return broken("a spend record holds invalid coins");
      }
      return true;
    });
    if (!st.ok()) return st;
  }
  return {};
}

}  // namespace depai::x::wallet
