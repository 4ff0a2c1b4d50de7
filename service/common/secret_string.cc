#include "service/common/secret_string.h"

#include <openssl/crypto.h>

namespace tokend {

SecretString& SecretString::operator=(const SecretString& other) {
  if (this != &other) {
    Wipe();
    value_ = other.value_;
  }
  return *this;
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    Wipe();
    value_ = std::move(other.value_);
    other.Wipe();
  }
  return *this;
}

bool SecretString::Equals(const SecretString& other) const {
  if (value_.size() != other.value_.size()) return false;
  return CRYPTO_memcmp(value_.data(), other.value_.data(), value_.size()) == 0;
}

void SecretString::Wipe() {
  // Wipe the whole buffer, including spare capacity that may hold an earlier, longer value.
  if (value_.capacity() > 0) {
    value_.resize(value_.capacity());
    OPENSSL_cleanse(value_.data(), value_.size());
  }
  value_.clear();
}

}  // namespace tokend
