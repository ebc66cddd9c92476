// Keyring access for commands: opens the keyring selected by --home/--keyring-backend and
// turns keyring errors into CommandError with a message a user can act on.
#pragma once

#include <string>

#include "cli/commands.h"
#include "client/keyring.h"

namespace depai::cli {

client::Keyring OpenKeyringOrThrow(const GlobalOptions& g);
crypto::KeyPair LoadKeyOrThrow(const GlobalOptions& g, const std::string& name_or_address);
// Resolves a key name to its address; a depai1... address is validated and returned as is.
std::string AddressOrKeyOrThrow(const GlobalOptions& g, const std::string& name_or_address);
// Who a tx signed with `key` speaks for: the --wallet agent wallet when given (validated), else
// the key's own address.
std::string SignerAddress(const GlobalOptions& g, const crypto::KeyPair& key);

}  // namespace depai::cli
