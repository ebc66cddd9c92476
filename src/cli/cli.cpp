#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "crypto/hash.h"

namespace depai::cli {

std::string DefaultHome() {
  const char* h = std::getenv("HOME");
  return std::string(h ? h : ".") + "/.depai";
}

int Run(int argc, char** argv) {
  if (!crypto::InitCrypto()) {
    std::cerr << "Error: libsodium failed to initialise\n";
    return 1;
  }
  CLI::App app{"depai: DePIN / DePAI engine", "depai"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "depai 0.1.0");
  GlobalOptions g;
  g.home = DefaultHome();
  app.add_option("--home", g.home, "Node and keyring home directory")->capture_default_str();
  app.add_option("--node", g.node, "depai API URL")->capture_default_str();
  app.add_option("-o,--output", g.output, "Output format")
      ->check(CLI::IsMember({"json", "text", "csv"}))
      ->capture_default_str();
  app.add_option("--keyring-backend", g.keyring_backend, "Keyring backend")
      ->check(CLI::IsMember({"test", "file"}))
      ->capture_default_str();
  app.add_flag("-y,--yes", g.yes, "Skip confirmation prompts");
  app.add_option("--wallet", g.wallet,
                 "Sign txs for this agent wallet (depai1...), with the --from key as one of its session keys");
  app.fallthrough();
  RegisterKeysCommands(app, g);
  RegisterDevnetCommands(app, g);
  RegisterTxCommands(app, g);
  RegisterQueryCommands(app, g);
  RegisterProviderCommands(app, g);
  RegisterMarketCommands(app, g);
  RegisterVerifyCommands(app, g);
  RegisterBmeCommands(app, g);
  RegisterIdentityCommands(app, g);
  RegisterCheckerCommands(app, g);
  RegisterOracleCommands(app, g);
  RegisterWalletCommands(app, g);
  RegisterChannelCommands(app, g);
  RegisterNodeCommands(app, g);
  RegisterLocalnetCommands(app, g);
  RegisterLoadgenCommands(app, g);
  RegisterProviderRunCommands(app, g);
  RegisterDeployCommands(app, g);
  RegisterVerifyProveCommands(app, g);
  RegisterEconomyCommands(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const CommandError& e) {
    std::cerr << "Error: " << e.message << "\n";
    return e.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace depai::cli
