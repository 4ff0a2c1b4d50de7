#include "service/adapters/federated_token_file.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/adapters/secret_file.h"
#include "service/core/jwt.h"

namespace tokend {
namespace {

constexpr size_t kMaxTokenFileSize = 64 * 1024;  // Projected tokens are about 1 KiB.

}  // namespace

absl::StatusOr<SecretString> FederatedTokenFile::Assertion(const std::string& /*client_id*/,
                                                           const std::string& /*audience*/,
                                                           absl::Time now) {
  auto fail = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat(variable_, " \"", absl::CHexEscape(path_), "\": ", why));
  };
  absl::StatusOr<SecretString> content = ReadSecretFile(path_, kMaxTokenFileSize);
  if (absl::IsNotFound(content.status())) {
    return fail("does not exist (is the projected service-account token volume mounted?)");
  }
  if (!content.ok()) return fail(content.status().message());
  absl::string_view token = absl::StripAsciiWhitespace(content->Reveal());
  if (token.empty()) return fail("is empty");
  absl::StatusOr<Jwt> jwt = ParseJwt(token);
  if (!jwt.ok()) {
    return fail(
        absl::StrCat("does not hold a service-account token (a JWT): ", jwt.status().message()));
  }
  if (absl::FromUnixSeconds(jwt->exp) <= now) {
    return fail(absl::StrCat(
        "the token expired at ",
        absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", absl::FromUnixSeconds(jwt->exp),
                         absl::UTCTimeZone()),
        "; the kubelet replaces it well before then, so check that the file is the projected "
        "volume's (not a copy) and that the pod's service account token projection works"));
  }
  if (token.size() == content->size()) return *std::move(content);
  return SecretString(std::string(token));
}

std::string FederatedTokenFile::Describe() const {
  return absl::StrCat("federated token file ", path_);
}

}  // namespace tokend
