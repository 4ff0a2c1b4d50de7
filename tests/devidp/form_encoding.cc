#include "tests/devidp/form_encoding.h"

#include "absl/status/status.h"
#include "absl/strings/str_split.h"

namespace tokend {
namespace devidp {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '*';
}

}  // namespace

absl::StatusOr<std::string> FormDecode(absl::string_view component) {
  std::string out;
  out.reserve(component.size());
  for (size_t i = 0; i < component.size(); ++i) {
    const char c = component[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= component.size()) {
        return absl::InvalidArgumentError("truncated percent-escape in form data");
      }
      const int hi = HexValue(component[i + 1]);
      const int lo = HexValue(component[i + 2]);
      if (hi < 0 || lo < 0) return absl::InvalidArgumentError("bad percent-escape in form data");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormEncode(absl::string_view component) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(component.size() * 3);
  for (const char c : component) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    }
  }
  return out;
}

absl::StatusOr<FormFields> ParseForm(absl::string_view body) {
  FormFields fields;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> key = FormDecode(kv.first);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> value = FormDecode(kv.second);
    if (!value.ok()) return value.status();
    fields.emplace(*std::move(key), *std::move(value));
  }
  return fields;
}

std::string EncodeForm(const FormFields& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    if (!out.empty()) out.push_back('&');
    out += FormEncode(key);
    out.push_back('=');
    out += FormEncode(value);
  }
  return out;
}

}  // namespace devidp
}  // namespace tokend
