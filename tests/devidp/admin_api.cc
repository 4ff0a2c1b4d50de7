#include "tests/devidp/admin_api.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/devidp/http_reply.h"

namespace tokend {
namespace devidp {
namespace {

using nlohmann::json;

constexpr char kJson[] = "application/json; charset=utf-8";

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(DumpJson(body), kJson);
}

void ReplyStatus(httplib::Response& res, const absl::Status& status) {
  if (status.ok()) return Reply(res, 200, json{{"ok", true}});
  const int code = status.code() == absl::StatusCode::kNotFound ? 404 : 400;
  Reply(res, code, json{{"ok", false}, {"error", std::string(status.message())}});
}

// Parses the request body as a JSON object; an empty body is {}.
absl::Status ParseBody(const httplib::Request& req, json* out) {
  if (req.body.empty()) {
    *out = json::object();
    return absl::OkStatus();
  }
  *out = json::parse(req.body, nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    return absl::InvalidArgumentError("body must be a JSON object");
  }
  return absl::OkStatus();
}

// Reads the string field `name` of `body` into *out.
absl::Status RequireString(const json& body, const char* name, std::string* out) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be a non-empty string"));
  }
  *out = it->get<std::string>();
  return absl::OkStatus();
}

// Reads the optional boolean field `name` of `body`.
absl::Status OptionalBool(const json& body, const char* name, bool* out) {
  auto it = body.find(name);
  if (it == body.end()) return absl::OkStatus();
  if (!it->is_boolean())
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be a boolean"));
  *out = it->get<bool>();
  return absl::OkStatus();
}

}  // namespace

void AdminApi::Register(httplib::Server& server) {
  using httplib::Request;
  using httplib::Response;
  server.Get("/_devidp/health", [](const Request&, Response& res) {
    Reply(res, 200, json{{"status", "ok"}});
  });
  server.Get("/_devidp/faults",
             [this](const Request&, Response& res) { Reply(res, 200, faults_.ToJson()); });
  server.Post("/_devidp/faults", [this](const Request& req, Response& res) { AddFault(req, res); });
  server.Delete("/_devidp/faults", [this](const Request&, Response& res) {
    faults_.Clear();
    ReplyStatus(res, absl::OkStatus());
  });
  server.Post("/_devidp/rotate-keys",
              [this](const Request& req, Response& res) { RotateKeys(req, res); });
  server.Get("/_devidp/counters",
             [this](const Request&, Response& res) { Reply(res, 200, counters_.ToJson()); });
  server.Post("/_devidp/counters/reset", [this](const Request&, Response& res) {
    counters_.Reset();
    ReplyStatus(res, absl::OkStatus());
  });
  server.Post("/_devidp/apps/([^/]+)/secrets",
              [this](const Request& req, Response& res) { AddSecret(req, res); });
  server.Delete("/_devidp/apps/([^/]+)/secrets/(.+)",
                [this](const Request& req, Response& res) { RemoveSecret(req, res); });
  server.Post("/_devidp/apps/([^/]+)/roles",
              [this](const Request& req, Response& res) { SetRoles(req, res); });
  server.Post("/_devidp/apps/([^/]+)/tenants",
              [this](const Request& req, Response& res) { SetTenant(req, res); });
  server.Post("/_devidp/apps/([^/]+)/certificates",
              [this](const Request& req, Response& res) { AddCertificate(req, res); });
  server.Delete("/_devidp/apps/([^/]+)/certificates/([^/]+)",
                [this](const Request& req, Response& res) { RemoveCertificate(req, res); });
  server.Post("/_devidp/apps/([^/]+)/federated-credentials",
              [this](const Request& req, Response& res) { AddFederatedCredential(req, res); });
  server.Post("/_devidp/federated-issuers",
              [this](const Request& req, Response& res) { SetFederatedIssuer(req, res); });
}

void AdminApi::AddFault(const httplib::Request& req, httplib::Response& res) {
  json body;
  if (absl::Status s = ParseBody(req, &body); !s.ok()) return ReplyStatus(res, s);
  absl::StatusOr<Fault> fault = Fault::FromJson(body);
  if (!fault.ok()) return ReplyStatus(res, fault.status());
  const int64_t id = faults_.Add(*fault);
  Reply(res, 200, json{{"ok", true}, {"id", id}});
}

void AdminApi::RotateKeys(const httplib::Request& req, httplib::Response& res) {
  json body;
  bool retire_old = false;
  if (absl::Status s = ParseBody(req, &body); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = OptionalBool(body, "retire_old", &retire_old); !s.ok()) {
    return ReplyStatus(res, s);
  }
  absl::StatusOr<std::string> kid = keys_.Rotate(retire_old);
  if (!kid.ok()) return Reply(res, 500, json{{"ok", false}, {"error", "key generation failed"}});
  Reply(res, 200, json{{"ok", true}, {"kid", *kid}, {"published", keys_.PublishedKids()}});
}

void AdminApi::AddSecret(const httplib::Request& req, httplib::Response& res) {
  json body;
  SecretConfig secret;
  if (absl::Status s = ParseBody(req, &body); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = RequireString(body, "secret", &secret.value); !s.ok()) {
    return ReplyStatus(res, s);
  }
  if (absl::Status s = OptionalBool(body, "expired", &secret.expired); !s.ok()) {
    return ReplyStatus(res, s);
  }
  ReplyStatus(res, directory_.AddSecret(req.matches[1].str(), secret));
}

void AdminApi::RemoveSecret(const httplib::Request& req, httplib::Response& res) {
  ReplyStatus(res, directory_.RemoveSecret(req.matches[1].str(), req.matches[2].str()));
}

void AdminApi::SetRoles(const httplib::Request& req, httplib::Response& res) {
  json body;
  std::string tenant;
  std::string resource;
  if (absl::Status s = ParseBody(req, &body); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = RequireString(body, "tenant", &tenant); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = RequireString(body, "resource", &resource); !s.ok()) {
    return ReplyStatus(res, s);
  }
  std::vector<std::string> roles;
  const json list = body.value("roles", json::array());
  if (!list.is_array())
    return ReplyStatus(res, absl::InvalidArgumentError("\"roles\" must be an array"));
  for (const json& role : list) {
    if (!role.is_string()) {
      return ReplyStatus(res, absl::InvalidArgumentError("\"roles\" must hold strings"));
    }
    roles.push_back(role.get<std::string>());
  }
  ReplyStatus(res, directory_.SetRoles(req.matches[1].str(), tenant, resource, std::move(roles)));
}

void AdminApi::SetTenant(const httplib::Request& req, httplib::Response& res) {
  json body;
  std::string tenant;
  bool present = true;
  if (absl::Status s = ParseBody(req, &body); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = RequireString(body, "tenant", &tenant); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = OptionalBool(body, "present", &present); !s.ok()) {
    return ReplyStatus(res, s);
  }
  ReplyStatus(res, directory_.SetPresentInTenant(req.matches[1].str(), tenant, present));
}

void AdminApi::AddCertificate(const httplib::Request& req, httplib::Response& res) {
  json body;
  std::string pem;
  if (absl::Status s = ParseBody(req, &body); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = RequireString(body, "pem", &pem); !s.ok()) return ReplyStatus(res, s);
  absl::StatusOr<std::string> thumbprint = directory_.AddCertificate(req.matches[1].str(), pem);
  if (!thumbprint.ok()) return ReplyStatus(res, thumbprint.status());
  Reply(res, 200, json{{"ok", true}, {"x5t#S256", *thumbprint}});
}

void AdminApi::RemoveCertificate(const httplib::Request& req, httplib::Response& res) {
  ReplyStatus(res, directory_.RemoveCertificate(req.matches[1].str(), req.matches[2].str()));
}

void AdminApi::AddFederatedCredential(const httplib::Request& req, httplib::Response& res) {
  json body;
  FederatedCredentialConfig credential;
  if (absl::Status s = ParseBody(req, &body); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = RequireString(body, "issuer", &credential.issuer); !s.ok()) {
    return ReplyStatus(res, s);
  }
  if (absl::Status s = RequireString(body, "subject", &credential.subject); !s.ok()) {
    return ReplyStatus(res, s);
  }
  if (body.contains("audience")) {
    if (absl::Status s = RequireString(body, "audience", &credential.audience); !s.ok()) {
      return ReplyStatus(res, s);
    }
  }
  ReplyStatus(res, directory_.AddFederatedCredential(req.matches[1].str(), credential));
}

void AdminApi::SetFederatedIssuer(const httplib::Request& req, httplib::Response& res) {
  json body;
  FederatedIssuerConfig issuer;
  if (absl::Status s = ParseBody(req, &body); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = RequireString(body, "issuer", &issuer.issuer); !s.ok()) {
    return ReplyStatus(res, s);
  }
  if (!body.contains("jwks") || !body["jwks"].is_object()) {
    return ReplyStatus(res, absl::InvalidArgumentError("\"jwks\" must be a JWKS object"));
  }
  issuer.jwks = body["jwks"].dump();
  ReplyStatus(res, directory_.SetFederatedIssuer(issuer));
}

}  // namespace devidp
}  // namespace tokend
