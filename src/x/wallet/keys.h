// x/wallet store keys (module-internal: only x/wallet's keeper files include this).
//   wallet/params                 -> depai.wallet.v1.Params (defaults when absent)
//   wallet/w/<wallet20>           -> depai.wallet.v1.Wallet
//   wallet/k/<wallet20><pub32>    -> depai.wallet.v1.SessionKey
//   wallet/s/<wallet20>           -> depai.wallet.v1.Spend (the wallet's current period)
//   wallet/ks/<wallet20><pub32>   -> depai.wallet.v1.Spend (a session key's current period)
//   wallet/n/<owner20>            -> u64 big-endian: wallets the owner has created (address derivation)
//   wallet/o/<owner20><wallet20>  -> "" (the owner's wallets, for queries)
#pragma once

#include <string>
#include <string_view>

namespace depai::x::wallet::keys {

inline constexpr std::string_view kPrefix = "wallet/";
inline constexpr std::string_view kParams = "wallet/params";
inline constexpr std::string_view kWalletPrefix = "wallet/w/";
inline constexpr std::string_view kKeyPrefix = "wallet/k/";
inline constexpr std::string_view kSpendPrefix = "wallet/s/";
inline constexpr std::string_view kKeySpendPrefix = "wallet/ks/";
inline constexpr std::string_view kCountPrefix = "wallet/n/";
inline constexpr std::string_view kOwnerPrefix = "wallet/o/";

inline std::string Cat(std::string_view p, std::string_view a, std::string_view b = {}) {
  std::string k(p);
  k.append(a);
  k.append(b);
  return k;
}
inline std::string Wallet(std::string_view w) { return Cat(kWalletPrefix, w); }
inline std::string Key(std::string_view w, std::string_view pub) { return Cat(kKeyPrefix, w, pub); }
inline std::string KeysOf(std::string_view w) { return Cat(kKeyPrefix, w); }
inline std::string Spend(std::string_view w) { return Cat(kSpendPrefix, w); }
inline std::string KeySpend(std::string_view w, std::string_view pub) { return Cat(kKeySpendPrefix, w, pub); }
inline std::string Count(std::string_view owner) { return Cat(kCountPrefix, owner); }
inline std::string Owner(std::string_view owner, std::string_view w) { return Cat(kOwnerPrefix, owner, w); }
inline std::string OwnedBy(std::string_view owner) { return Cat(kOwnerPrefix, owner); }

}  // namespace depai::x::wallet::keys
