#include "tests/devidp/jwt_minter.h"

#include "absl/strings/str_cat.h"
#include "tests/devidp/base64url.h"
#include "tests/devidp/guid.h"
#include "tests/devidp/http_reply.h"

namespace tokend {
namespace devidp {

std::string JwtMinter::ServicePrincipalId(const std::string& client_id,
                                          const std::string& tenant_id) {
  return DeterministicGuid(absl::StrCat("service-principal:", client_id, ":", tenant_id));
}

nlohmann::ordered_json JwtMinter::Claims(const MintRequest& request) {
  const bool v1 = request.resource->access_token_version == 1;
  const int64_t iat = absl::ToUnixSeconds(request.issued_at);
  const int64_t exp = iat + absl::ToInt64Seconds(request.lifetime);
  const std::string oid = ServicePrincipalId(request.client_id, request.tenant_id);
  const std::string issuer =
      v1 ? absl::StrCat("https://sts.windows.net/", request.tenant_id, "/")
         : absl::StrCat("https://login.microsoftonline.com/", request.tenant_id, "/v2.0");

  nlohmann::ordered_json claims;
  claims["aud"] = v1 ? request.requested_audience : request.resource->app_id;
  claims["iss"] = issuer;
  claims["iat"] = iat;
  claims["nbf"] = iat;
  claims["exp"] = exp;
  if (v1) {
    claims["appid"] = request.client_id;
    claims["appidacr"] = request.client_auth_class;
    claims["idp"] = issuer;
  } else {
    claims["azp"] = request.client_id;
    claims["azpacr"] = request.client_auth_class;
  }
  claims["idtyp"] = "app";
  claims["oid"] = oid;
  if (!request.roles.empty()) claims["roles"] = request.roles;
  claims["sub"] = oid;
  claims["tid"] = request.tenant_id;
  claims["uti"] = RandomBase64UrlId(16);
  claims["ver"] = v1 ? "1.0" : "2.0";
  return claims;
}

absl::StatusOr<std::string> JwtMinter::Mint(const MintRequest& request) const {
  std::shared_ptr<const RsaSigningKey> key = keys_.Current();
  nlohmann::ordered_json header;
  header["typ"] = "JWT";
  header["alg"] = "RS256";
  if (request.resource->access_token_version == 1) header["x5t"] = key->x5t();
  header["kid"] = key->kid();

  const std::string signing_input = absl::StrCat(Base64UrlEncode(DumpJson(header)), ".",
                                                 Base64UrlEncode(DumpJson(Claims(request))));
  absl::StatusOr<std::string> signature = key->SignRs256(signing_input);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(signing_input, ".", Base64UrlEncode(*signature));
}

}  // namespace devidp
}  // namespace tokend
