// What x/wallet needs from other modules. Implemented by adapters in src/app (or fakes in tests),
// so x/wallet never includes another module's internals. Addresses are 20 raw bytes.
// Thread-safety: implementations are called from the one thread that runs the state machine.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/kv.h"
#include "util/amount.h"
#include "util/result.h"
#include "x/types/context.h"

namespace depai::x::wallet {

// x/bank: balances, user transfers (fund, drain) and the account a new wallet needs.
class BankKeeper {
 public:
  virtual ~BankKeeper() = default;
  virtual Result<Coins> balances(const store::KVReader& s, std::string_view addr) const = 0;
  // A user transfer (the denoms must be transferable, the recipient not a blocked module account).
  virtual Status check_send(const store::KVReader& s, std::string_view from, std::string_view to,
                            const Coins& coins) const = 0;
  virtual Status send(Context& ctx, std::string_view from, std::string_view to, const Coins& coins) const = 0;
  virtual bool transferable(const store::KVReader& s, std::string_view denom) const = 0;
  // Creates the auth account for `addr` if it has none (a wallet's account exists from creation).
  virtual Status ensure_account(store::KVStore& s, std::string_view addr) const = 0;
};

// x/identity: the DID an account has linked (a policy may list counterparties by DID). Null: no
// identity module; a DID then matches no address.
class IdentityKeeper {
 public:
  virtual ~IdentityKeeper() = default;
  virtual Result<std::optional<std::string>> linked_did(const store::KVReader& s, std::string_view addr20) const = 0;
};

}  // namespace depai::x::wallet
