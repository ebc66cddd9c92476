// x/auth module: genesis import/export and queries for accounts. See doc/modules/auth.md.
#pragma once

#include "x/auth/keeper.h"
#include "x/types/module.h"

namespace depai::x::auth {

class Module : public x::Module {
 public:
  std::string name() const override { return "auth"; }
  std::vector<MsgRoute> routes() override { return {}; }
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  Result<nlohmann::json> export_genesis(const store::KVReader& state) const override;
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  const Keeper& keeper() const { return keeper_; }

 private:
  Keeper keeper_;
};

nlohmann::json AccountToJson(const Account& a);
nlohmann::json ParamsToJson(const Params& p);

}  // namespace depai::x::auth
