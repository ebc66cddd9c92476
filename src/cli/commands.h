// The `depai` command tree. Each group registers its subcommands on the CLI11 app.
// Contract for every command: errors print "Error: <message>" to stderr and exit non-zero;
// --output json prints one JSON document on stdout; nothing is changed on error.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace depai::cli {

struct GlobalOptions {
  std::string home;                            // --home, default ~/.depai
  std::string node = "http://127.0.0.1:1317";  // --node
  std::string output = "text";                 // --output json|text
  std::string keyring_backend = "test";        // --keyring-backend test|file
  bool yes = false;                            // --yes: skip confirmation
  // --wallet: sign txs for this agent wallet (x/wallet), with the --from key as one of its
  // session keys; the messages' signer is then the wallet.
  std::string wallet;
};

// Thrown by command callbacks; main prints it and exits with `exit_code`.
struct CommandError {
  std::string message;
  int exit_code = 1;
};

std::string DefaultHome();  // $HOME/.depai

void RegisterKeysCommands(CLI::App& app, GlobalOptions& g);      // src/cli/keys_cmd.cpp
void RegisterDevnetCommands(CLI::App& app, GlobalOptions& g);    // src/cli/devnet_cmd.cpp
void RegisterTxCommands(CLI::App& app, GlobalOptions& g);        // src/cli/tx_cmd.cpp
void RegisterQueryCommands(CLI::App& app, GlobalOptions& g);     // src/cli/query_cmd.cpp (query, status, export)
void RegisterEconomyCommands(CLI::App& app, GlobalOptions& g);   // src/cli/economy_cmd.cpp (query economy/mint/rewards)
void RegisterNodeCommands(CLI::App& app, GlobalOptions& g);      // src/cli/node_cmd.cpp (ABCI server for CometBFT)
void RegisterLocalnetCommands(CLI::App& app, GlobalOptions& g);  // src/cli/localnet_cmd.cpp
void RegisterLoadgenCommands(CLI::App& app, GlobalOptions& g);   // src/cli/loadgen_cmd.cpp
void RegisterProviderRunCommands(CLI::App& app, GlobalOptions& g);  // src/cli/provider_run_cmd.cpp
void RegisterDeployCommands(CLI::App& app, GlobalOptions& g);       // src/cli/deploy_cmd.cpp
void RegisterVerifyProveCommands(CLI::App& app, GlobalOptions& g);  // src/cli/verify_cmd.cpp (verify prove)
// `tx provider ...` and `query provider ...`; call after RegisterTxCommands and RegisterQueryCommands.
void RegisterProviderCommands(CLI::App& app, GlobalOptions& g);  // src/cli/provider_cmd.cpp
// Adds `tx market ...` and `query market ...` (call after RegisterTxCommands/RegisterQueryCommands).
void RegisterMarketCommands(CLI::App& app, GlobalOptions& g);  // src/cli/market_cmd.cpp
// Adds `tx verify ...` and `query verify ...` (call after RegisterTxCommands/RegisterQueryCommands).
void RegisterVerifyCommands(CLI::App& app, GlobalOptions& g);  // src/cli/verify_chain_cmd.cpp
// Adds `tx bme burn` and `query bme status|params` (call after RegisterTxCommands/RegisterQueryCommands).
void RegisterBmeCommands(CLI::App& app, GlobalOptions& g);  // src/cli/bme_cmd.cpp
// Adds `tx identity ...`, `identity sign-attestation` and `query identity ...` (after
// RegisterTxCommands/RegisterQueryCommands).
void RegisterIdentityCommands(CLI::App& app, GlobalOptions& g);  // src/cli/identity_cmd.cpp
void RegisterCheckerCommands(CLI::App& app, GlobalOptions& g);   // src/cli/checker_cmd.cpp (checker run|status)
// `tx oracle post-price`, `oracle feed`, `query oracle ...` (call after RegisterTxCommands/RegisterQueryCommands).
void RegisterOracleCommands(CLI::App& app, GlobalOptions& g);
void RegisterWalletCommands(
    CLI::App& app, GlobalOptions& g);  // src/cli/wallet_cmd.cpp (tx wallet, query wallet)  // src/cli/oracle_cmd.cpp

// `tx channel ...`, `query channel ...` and `channel receive|pay|voucher` (after
// RegisterTxCommands/RegisterQueryCommands).
void RegisterChannelCommands(CLI::App& app, GlobalOptions& g);  // src/cli/channel_cmd.cpp

int Run(int argc, char** argv);  // src/cli/cli.cpp

}  // namespace depai::cli
