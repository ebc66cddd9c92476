// The provider daemon's registrar: makes the chain's x/provider record match the config.
//
// Contract: Register() reads our record; when the chain says (provider, kErrNotFound) it sends
// MsgRegisterProvider (endpoint, location, region, attributes, inventory, collateral); when the
// record exists and differs from the config in endpoint, location, region, attributes or
// resources it sends MsgUpdateProvider; otherwise it sends nothing. Any other query error, a
// malformed collateral or a rejected tx is returned (the daemon does not start).
// Thread-safety: call from one thread (the daemon's Start).
#pragma once

#include "client/chain_client.h"
#include "provider/config.h"
#include "util/result.h"

namespace depai::provider {

class Registrar {
 public:
  Registrar(const ProviderConfig& cfg, client::ChainClient& chain) : cfg_(cfg), chain_(chain) {}
  Status Register();

 private:
  const ProviderConfig& cfg_;
  client::ChainClient& chain_;
};

}  // namespace depai::provider
