// The dev IdP's signing keys: one current key that signs new tokens, plus the older keys that
// stay published in the JWKS after a rollover. Thread-safe.
#ifndef TOKEND_TESTS_DEVIDP_SIGNING_KEY_STORE_H_
#define TOKEND_TESTS_DEVIDP_SIGNING_KEY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/rsa_signing_key.h"

namespace tokend {
namespace devidp {

// Which keys document to render: v1 (/discovery/keys) or v2 (/discovery/v2.0/keys, whose
// entries carry the templated `issuer`).
enum class KeysVersion { kV1, kV2 };

class SigningKeyStore {
 public:
  // Returns a store whose current key is `initial`, or a freshly generated RSA-2048 key when
  // `initial` is null (sharing one key between servers saves ~0.1 s of generation per start).
  static absl::StatusOr<std::unique_ptr<SigningKeyStore>> Create(
      std::shared_ptr<const RsaSigningKey> initial = nullptr);

  // Returns the key that signs new tokens. Never null.
  std::shared_ptr<const RsaSigningKey> Current() const;

  // Returns the kids of all published keys, the current key first.
  std::vector<std::string> PublishedKids() const;

  // Key rollover: generates a new key and makes it current. The previous keys stay published
  // unless `retire_old`, in which case only the new key is published. Returns the new kid.
  absl::StatusOr<std::string> Rotate(bool retire_old);

  // Returns the JWKS document {"keys":[...]} for `version`, the current key first.
  nlohmann::json Jwks(KeysVersion version) const;

 private:
  explicit SigningKeyStore(std::shared_ptr<const RsaSigningKey> first);

  mutable absl::Mutex mu_;
  // keys_[0] is the current key; the rest are still published, newest first.
  std::vector<std::shared_ptr<const RsaSigningKey>> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_SIGNING_KEY_STORE_H_
