#include "service/core/metrics.h"

namespace tokend {

const char* RenewalOutcomeName(RenewalOutcome outcome) {
  switch (outcome) {
    case RenewalOutcome::kSuccess:
      return "success";
    case RenewalOutcome::kTransientFailure:
      return "transient_failure";
    case RenewalOutcome::kRejected:
      return "rejected";
  }
  return "unknown";
}

const char* KeyDocumentName(KeyDocument document) {
  return document == KeyDocument::kDiscovery ? "discovery" : "keys";
}

const char* FetchOutcomeName(FetchOutcome outcome) {
  switch (outcome) {
    case FetchOutcome::kOk:
      return "ok";
    case FetchOutcome::kFailed:
      return "failed";
    case FetchOutcome::kRejected:
      return "rejected";
  }
  return "unknown";
}

Metrics& NoMetrics() {
  static Metrics* none = new Metrics();
  return *none;
}

}  // namespace tokend
