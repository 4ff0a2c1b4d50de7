#include "tests/devidp/signing_key_store.h"

#include <utility>

namespace tokend {
namespace devidp {
namespace {

constexpr char kV2KeyIssuer[] = "https://login.microsoftonline.com/{tenantid}/v2.0";

}  // namespace

SigningKeyStore::SigningKeyStore(std::shared_ptr<const RsaSigningKey> first) {
  absl::MutexLock lock(&mu_);
  keys_.push_back(std::move(first));
}

absl::StatusOr<std::unique_ptr<SigningKeyStore>> SigningKeyStore::Create(
    std::shared_ptr<const RsaSigningKey> initial) {
  if (initial == nullptr) {
    absl::StatusOr<std::unique_ptr<RsaSigningKey>> key = RsaSigningKey::Generate();
    if (!key.ok()) return key.status();
    initial = *std::move(key);
  }
  return std::unique_ptr<SigningKeyStore>(new SigningKeyStore(std::move(initial)));
}

std::shared_ptr<const RsaSigningKey> SigningKeyStore::Current() const {
  absl::MutexLock lock(&mu_);
  return keys_.front();
}

std::vector<std::string> SigningKeyStore::PublishedKids() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> kids;
  for (const auto& key : keys_) kids.push_back(key->kid());
  return kids;
}

absl::StatusOr<std::string> SigningKeyStore::Rotate(bool retire_old) {
  // Key generation takes tens of milliseconds; do it outside the lock.
  absl::StatusOr<std::unique_ptr<RsaSigningKey>> generated = RsaSigningKey::Generate();
  if (!generated.ok()) return generated.status();
  std::shared_ptr<const RsaSigningKey> key = *std::move(generated);
  absl::MutexLock lock(&mu_);
  if (retire_old) keys_.clear();
  keys_.insert(keys_.begin(), key);
  return key->kid();
}

nlohmann::json SigningKeyStore::Jwks(KeysVersion version) const {
  std::vector<std::shared_ptr<const RsaSigningKey>> keys;
  {
    absl::MutexLock lock(&mu_);
    keys = keys_;
  }
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& key : keys) {
    nlohmann::json jwk = {{"kty", "RSA"},
                          {"use", "sig"},
                          {"kid", key->kid()},
                          {"x5t", key->x5t()},
                          {"n", key->n()},
                          {"e", key->e()},
                          {"x5c", nlohmann::json::array({key->certificate_der_base64()})}};
    if (version == KeysVersion::kV2) jwk["issuer"] = kV2KeyIssuer;
    entries.push_back(std::move(jwk));
  }
  return nlohmann::json{{"keys", std::move(entries)}};
}

}  // namespace devidp
}  // namespace tokend
