#include "tests/devidp/fault_injector.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tokend {
namespace devidp {
namespace {

constexpr std::pair<const char*, FaultEndpoint> kEndpoints[] = {
    {"token", FaultEndpoint::kToken},
    {"keys", FaultEndpoint::kKeys},
    {"discovery", FaultEndpoint::kDiscovery},
    {"any", FaultEndpoint::kAny},
};
constexpr std::pair<const char*, FaultKind> kKinds[] = {
    {"latency", FaultKind::kLatency},
    {"status", FaultKind::kStatus},
    {"malformed_json", FaultKind::kMalformedJson},
    {"drop_connection", FaultKind::kDropConnection},
};

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("fault: \"", field, "\" ", what));
}

// Reads an optional integer field into *out. Returns InvalidArgument if present but not an int.
absl::Status ReadInt(const nlohmann::json& value, const char* field, int* out) {
  auto it = value.find(field);
  if (it == value.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number_integer()) return Invalid(field, "must be an integer");
  *out = it->get<int>();
  return absl::OkStatus();
}

absl::Status ReadString(const nlohmann::json& value, const char* field, std::string* out) {
  auto it = value.find(field);
  if (it == value.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return Invalid(field, "must be a string");
  *out = it->get<std::string>();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Fault> Fault::FromJson(const nlohmann::json& value) {
  if (!value.is_object()) return absl::InvalidArgumentError("fault: body must be a JSON object");
  Fault fault;
  std::string endpoint = "any";
  std::string kind;
  int latency_ms = 0;
  int retry_after = -1;
  for (absl::Status s :
       {ReadString(value, "endpoint", &endpoint), ReadString(value, "kind", &kind),
        ReadInt(value, "latency_ms", &latency_ms), ReadInt(value, "status", &fault.status),
        ReadInt(value, "retry_after", &retry_after), ReadInt(value, "count", &fault.count),
        ReadString(value, "error", &fault.error), ReadInt(value, "error_code", &fault.error_code),
        ReadString(value, "error_description", &fault.error_description)}) {
    if (!s.ok()) return s;
  }
  auto endpoint_it = std::find_if(std::begin(kEndpoints), std::end(kEndpoints),
                                  [&](const auto& e) { return endpoint == e.first; });
  if (endpoint_it == std::end(kEndpoints)) {
    return Invalid("endpoint", "must be token, keys, discovery or any");
  }
  fault.endpoint = endpoint_it->second;
  auto kind_it = std::find_if(std::begin(kKinds), std::end(kKinds),
                              [&](const auto& k) { return kind == k.first; });
  if (kind_it == std::end(kKinds)) {
    return Invalid("kind", "must be latency, status, malformed_json or drop_connection");
  }
  fault.kind = kind_it->second;
  if (latency_ms < 0) return Invalid("latency_ms", "must not be negative");
  if (fault.kind == FaultKind::kLatency && latency_ms == 0) {
    return Invalid("latency_ms", "must be positive for a latency fault");
  }
  fault.latency = absl::Milliseconds(latency_ms);
  if (fault.kind == FaultKind::kStatus && (fault.status < 100 || fault.status > 599)) {
    return Invalid("status", "must be an HTTP status for a status fault");
  }
  if (fault.kind == FaultKind::kMalformedJson && fault.status != 0 &&
      (fault.status < 100 || fault.status > 599)) {
    return Invalid("status", "must be an HTTP status");
  }
  if (retry_after >= 0) fault.retry_after_seconds = retry_after;
  if (fault.count == 0 || fault.count < -1) return Invalid("count", "must be positive or -1");
  return fault;
}

nlohmann::json Fault::ToJson() const {
  nlohmann::json out;
  for (const auto& e : kEndpoints) {
    if (e.second == endpoint) out["endpoint"] = e.first;
  }
  for (const auto& k : kKinds) {
    if (k.second == kind) out["kind"] = k.first;
  }
  out["latency_ms"] = absl::ToInt64Milliseconds(latency);
  if (status != 0) out["status"] = status;
  if (retry_after_seconds) out["retry_after"] = *retry_after_seconds;
  out["count"] = count;
  if (!error.empty()) out["error"] = error;
  if (error_code != 0) out["error_code"] = error_code;
  if (!error_description.empty()) out["error_description"] = error_description;
  return out;
}

int64_t FaultInjector::Add(const Fault& fault) {
  absl::MutexLock lock(&mu_);
  const int64_t id = next_id_++;
  entries_.push_back(Entry{id, fault, fault.count});
  return id;
}

void FaultInjector::Clear() {
  absl::MutexLock lock(&mu_);
  entries_.clear();
}

FaultPlan FaultInjector::Take(FaultEndpoint endpoint) {
  FaultPlan plan;
  absl::MutexLock lock(&mu_);
  for (Entry& entry : entries_) {
    const Fault& fault = entry.fault;
    if (fault.endpoint != FaultEndpoint::kAny && fault.endpoint != endpoint) continue;
    if (fault.kind != FaultKind::kLatency) {
      if (plan.action.has_value()) continue;  // One action per request; this one waits.
      plan.action = fault;
    }
    plan.latency += fault.latency;
    if (entry.remaining > 0) --entry.remaining;
  }
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [](const Entry& entry) { return entry.remaining == 0; }),
                 entries_.end());
  return plan;
}

nlohmann::json FaultInjector::ToJson() const {
  absl::MutexLock lock(&mu_);
  nlohmann::json list = nlohmann::json::array();
  for (const Entry& entry : entries_) {
    nlohmann::json item = entry.fault.ToJson();
    item["id"] = entry.id;
    item["remaining"] = entry.remaining;
    list.push_back(std::move(item));
  }
  return nlohmann::json{{"faults", std::move(list)}};
}

}  // namespace devidp
}  // namespace tokend
