#include "provider/daemon.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "crypto/hash.h"
#include "provider/cgroup.h"
#include "provider/server.h"
#include "util/bytes.h"

namespace depai::provider {

namespace fs = std::filesystem;

// ---- construction ---------------------------------------------------------------------------

std::string Daemon::StateDir() const {
  if (!cfg_.sandbox.state_dir.empty()) return cfg_.sandbox.state_dir;
  if (cfg_.sandbox.mode == "none" || ::geteuid() != 0) return home_ + "/provider";
  return "/var/lib/depai/provider-" + HexEncode(crypto::Sha256(fs::absolute(home_).string())).substr(0, 12);
}

Status Daemon::CheckStateDir() const {
  if (cfg_.sandbox.mode == "none" || ::geteuid() != 0) return {};
  fs::path p = fs::absolute(state_dir_).lexically_normal();
  for (fs::path a = p;; a = a.parent_path()) {
    struct stat st;
    if (::stat(a.c_str(), &st) != 0) return Error{"providerd", 22, "sandbox.state_dir: cannot stat " + a.string()};
    if (a != p && !(st.st_mode & S_IXOTH))
      return Error{"providerd", 22,
                   "sandbox.state_dir " + p.string() + ": " + a.string() +
                       " is not searchable by other users, and the sandbox (running as a lease's uid) must reach "
                       "the work directories below it; choose a state_dir under a searchable path (the default "
                       "for root is /var/lib/depai/provider-<id>)"};
    if (a == a.root_path() || a.empty()) break;
  }
  ::chmod(p.c_str(), 0711);
  return {};
}

Daemon::Daemon(ProviderConfig cfg, std::string home, crypto::KeyPair key)
    : cfg_(std::move(cfg)),
      home_(std::move(home)),
      chain_(std::make_unique<client::HttpChainClient>(cfg_.node, std::move(key), cfg_.chain_id,
                                                       Coins::Parse(cfg_.fees).value(), cfg_.gas)) {
  fs::create_directories(home_ + "/provider");
  ::chmod((home_ + "/provider").c_str(), 0700);
  // One cgroup parent per provider home, so two daemons on a host (or in a test) keep apart.
  Cgroup::SetParentName("depai-" + HexEncode(crypto::Sha256(fs::absolute(home_).string())).substr(0, 12));
  host_ = ProbeHost(cfg_.sandbox);
  state_dir_ = StateDir();
  fs::create_directories(state_dir_);
  ImageStoreOptions io;
  io.local_roots = cfg_.sandbox.image_dirs;               // a buyer may not name a path on this host otherwise
  io.max_image_bytes = cfg_.sandbox.max_image_mib << 20;  // a buyer's image cannot fill the disk
  io.unpack.max_bytes = cfg_.sandbox.max_image_mib << 20;
  images_ = std::make_unique<ImageStore>(state_dir_ + "/images", cfg_.sandbox.skopeo, io);
  runtime_ = std::make_unique<ExecRuntime>(state_dir_ + "/leases", cfg_.sandbox, images_.get());
  shared_ = std::make_unique<SharedState>(StateStore(home_ + "/provider/state.json", chain_->address()));
  registrar_ = std::make_unique<Registrar>(cfg_, *chain_);
  bidder_ = std::make_unique<Bidder>(cfg_, *chain_, *shared_);
  leases_ = std::make_unique<LeaseManager>(cfg_, *chain_, *shared_, *runtime_, home_ + "/provider/manifests");
  verify_ = std::make_unique<ChallengeResponder>(cfg_.verify, *chain_, home_ + "/provider/verify");
  follower_ = std::make_unique<EventFollower>(*chain_, *shared_, *bidder_, *leases_, verify_.get());
  handlers_ = std::make_unique<Handlers>(cfg_, *chain_, *shared_, *leases_, *runtime_, host_, state_dir_);
  handlers_->set_verify(verify_.get());
}

Daemon::~Daemon() { Stop(); }

uint16_t Daemon::port() const { return server_ ? server_->port() : 0; }

std::optional<std::string> Daemon::fault() const {
  std::lock_guard<std::mutex> lock(fault_mu_);
  return fault_;
}

// ---- start: register, reconcile -------------------------------------------------------------

Status Daemon::Reconcile() {
  auto h = chain_->LatestHeight();
  if (!h.ok()) return h.status();
  if (auto params = chain_->ProviderParams(); params.ok()) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->heartbeat_window = std::max<int64_t>(1, params->heartbeat_window());
  }
  DEPAI_TRY(leases_->Reconcile(*h));  // the leases the chain says we hold
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->st.next_height <= 0) shared_->st.next_height = *h + 1;  // first start: the open orders cover the past
    shared_->Save();
  }
  return bidder_->ConsiderOpenOrders(*h);  // also those created while we were down
}

Status Daemon::Start() {
  if (cfg_.sandbox.mode == "none") {
    spdlog::warn(
        "sandbox mode is \"none\": buyers' workloads run UNCONFINED as this daemon's user and can read its "
        "keyring, home and environment. Use it only for workloads you trust.");
  } else if (!host_.can_sandbox()) {
    return Error{"providerd", 20,
                 "this host cannot sandbox workloads (" +
                     (host_.bwrap_error.empty() ? host_.seccomp_error : host_.bwrap_error) +
                     "); run `depai provider doctor`, fix the host, or set [sandbox] mode = \"none\" to run them "
                     "unconfined"};
  } else {
    DEPAI_TRY(CheckStateDir());
    spdlog::info("sandbox: bubblewrap {} with seccomp; cgroups {} (memory {}, cpu {}, pids {}); {}",
                 host_.bwrap_version, host_.cgroups.version, host_.cgroups.memory, host_.cgroups.cpu,
                 host_.cgroups.pids, host_.root ? "per-lease uids" : "workloads share the daemon's uid");
  }
  DEPAI_TRY(registrar_->Register());
  DEPAI_TRY(Reconcile());
  runtime_->StartMonitor(100);
  verify_->Start();  // compute challenges run on its own thread, off the event follower's
  spdlog::info("verify: prover {}{}", cfg_.verify.prover, cfg_.verify.enabled ? "" : " (challenges ignored)");
  server_ = std::make_unique<Endpoint>(*handlers_, cfg_.listen);
  DEPAI_TRY(server_->Start());
  spdlog::info("provider endpoint listening on http://{} (advertised as {})", cfg_.listen, cfg_.endpoint);
  loop_ = std::thread([this] { Loop(); });
  return {};
}

// ---- the loop ------------------------------------------------------------------------------

void Daemon::Loop() {
  int failures = 0;
  while (!stop_) {
    auto st = Tick();
    if (!st.ok()) {
      ++failures;
      if (failures == 1 || failures % 20 == 0) spdlog::warn("provider loop: {}", st.error().message);
    } else {
      failures = 0;
    }
    for (int64_t slept = 0; slept < cfg_.poll_interval_ms && !stop_; slept += 20)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status Daemon::Tick() {
  auto h = chain_->LatestHeight();
  if (!h.ok()) return h.status();
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->latest_height = *h;
  }
  DEPAI_TRY(follower_->Follow(*h, stop_));
  leases_->Housekeeping(*h);
  return {};
}

void Daemon::Stop() {
  stop_ = true;
  if (loop_.joinable()) loop_.join();
  if (runtime_) runtime_->StopMonitor();
  if (server_) server_->Stop();
  if (verify_) verify_->Stop();
  if (cfg_.sandbox.cgroups) Cgroup::RemoveParent();  // only when empty: running workloads keep theirs
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->Save();
}

}  // namespace depai::provider
