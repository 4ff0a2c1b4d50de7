// SecretString holds a client secret, private key or token. It is wiped (OPENSSL_cleanse) when
// destroyed or overwritten, and it has no stream operator, so it cannot be logged by accident.
// A SecretString is a value: copies are independent and each is wiped on its own.
#ifndef TOKEND_SERVICE_COMMON_SECRET_STRING_H_
#define TOKEND_SERVICE_COMMON_SECRET_STRING_H_

#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace tokend {

class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  SecretString(const SecretString& other) : value_(other.value_) {}
  SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) { other.Wipe(); }
  SecretString& operator=(const SecretString& other);
  SecretString& operator=(SecretString&& other) noexcept;
  ~SecretString() { Wipe(); }

  // The secret itself. Pass it only to the code that sends it to the identity provider.
  absl::string_view Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }

  // Returns true iff both hold the same bytes, in time independent of where they differ.
  bool Equals(const SecretString& other) const;

 private:
  void Wipe();

  std::string value_;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_COMMON_SECRET_STRING_H_
