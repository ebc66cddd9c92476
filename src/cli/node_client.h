// Helpers for commands that talk to a node's HTTP API: GET/POST JSON and turn API errors
// ({code, codespace, message}) and connection failures into CommandError.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"

namespace depai::cli {

nlohmann::json GetJsonOrThrow(const GlobalOptions& g, const std::string& path);
// POST; returns (status, body JSON) without throwing on 4xx so callers can report tx errors.
std::pair<int, nlohmann::json> PostJson(const GlobalOptions& g, const std::string& path, const nlohmann::json& body);
std::string ApiErrorMessage(const nlohmann::json& body, int status);

}  // namespace depai::cli
