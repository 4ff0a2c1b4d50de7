#include "service/core/jwt.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/core/base64url.h"

namespace tokend {
namespace {

using Json = nlohmann::json;

absl::Status Malformed(absl::string_view what, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(what, " ", problem));
}

// The length of the unpadded base64url encoding of `decoded_bytes` bytes.
size_t EncodedLength(size_t decoded_bytes) { return (decoded_bytes * 4 + 2) / 3; }

absl::StatusOr<std::string> DecodeSegment(absl::string_view encoded, size_t max_bytes,
                                          absl::string_view what) {
  if (encoded.size() > EncodedLength(max_bytes)) {
    return Malformed(what, absl::StrCat("is longer than ", max_bytes, " bytes"));
  }
  std::optional<std::string> decoded = Base64UrlDecode(encoded);
  if (!decoded.has_value()) return Malformed(what, "is not unpadded base64url");
  return *std::move(decoded);
}

// Sets *out to the string member `name` of `object` if it is present. Error if it is present
// but not a string.
absl::Status OptionalString(const Json& object, const char* name, absl::string_view what,
                            std::string* out) {
  auto it = object.find(name);
  if (it == object.end()) return absl::OkStatus();
  const auto* s = it->get_ptr<const Json::string_t*>();
  if (s == nullptr) return Malformed(what, absl::StrCat(name, " is not a string"));
  *out = *s;
  return absl::OkStatus();
}

// Sets *out to the integer member `name` of `object` if it is present. Error if it is present
// but not an integer that fits in int64 (floats included, "1e9" is not an integer).
absl::Status OptionalInt(const Json& object, const char* name, std::optional<int64_t>* out) {
  auto it = object.find(name);
  if (it == object.end()) return absl::OkStatus();
  // Check the exact type first: nlohmann's is_number_integer() is also true for unsigned.
  if (it->is_number_unsigned()) {
    const uint64_t value = *it->get_ptr<const Json::number_unsigned_t*>();
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Malformed("claim", absl::StrCat(name, " is out of range"));
    }
    *out = static_cast<int64_t>(value);
    return absl::OkStatus();
  }
  if (it->is_number_integer()) {
    *out = *it->get_ptr<const Json::number_integer_t*>();
    return absl::OkStatus();
  }
  return Malformed("claim", absl::StrCat(name, " is not an integer"));
}

// Appends the strings of array `value` to *out. Error naming `name` for anything else.
absl::Status StringArray(const Json& value, const char* name, size_t max_entries,
                         std::vector<std::string>* out) {
  if (!value.is_array()) return Malformed("claim", absl::StrCat(name, " is not an array"));
  if (value.size() > max_entries) {
    return Malformed("claim", absl::StrCat(name, " has more than ", max_entries, " entries"));
  }
  out->reserve(value.size());
  for (const Json& entry : value) {
    const auto* s = entry.get_ptr<const Json::string_t*>();
    if (s == nullptr) return Malformed("claim", absl::StrCat(name, " holds a non-string"));
    out->push_back(*s);
  }
  return absl::OkStatus();
}

absl::Status ReadHeader(Jwt& jwt) {
  const Json& header = jwt.header;
  if (header.contains("crit")) return Malformed("header", "has crit, which is not supported");
  if (!header.contains("alg")) return Malformed("header", "has no alg");
  TOKEND_RETURN_IF_ERROR(OptionalString(header, "alg", "header", &jwt.alg));
  TOKEND_RETURN_IF_ERROR(OptionalString(header, "kid", "header", &jwt.kid));
  TOKEND_RETURN_IF_ERROR(OptionalString(header, "typ", "header", &jwt.typ));
  return OptionalString(header, "x5t", "header", &jwt.x5t);
}

absl::Status ReadClaims(const JwtLimits& limits, Jwt& jwt) {
  const Json& payload = jwt.payload;
  const std::pair<const char*, std::string*> string_claims[] = {
      {"iss", &jwt.iss}, {"tid", &jwt.tid}, {"appid", &jwt.appid},
      {"azp", &jwt.azp}, {"oid", &jwt.oid}, {"ver", &jwt.ver}};
  for (const auto& [name, field] : string_claims) {
    TOKEND_RETURN_IF_ERROR(OptionalString(payload, name, "claim", field));
  }
  if (auto aud = payload.find("aud"); aud != payload.end()) {
    if (const auto* s = aud->get_ptr<const Json::string_t*>()) {
      jwt.aud.push_back(*s);
    } else {
      TOKEND_RETURN_IF_ERROR(StringArray(*aud, "aud", limits.max_roles, &jwt.aud));
    }
  }
  if (auto roles = payload.find("roles"); roles != payload.end()) {
    TOKEND_RETURN_IF_ERROR(StringArray(*roles, "roles", limits.max_roles, &jwt.roles));
  }
  TOKEND_RETURN_IF_ERROR(OptionalInt(payload, "iat", &jwt.iat));
  TOKEND_RETURN_IF_ERROR(OptionalInt(payload, "nbf", &jwt.nbf));
  std::optional<int64_t> exp;
  TOKEND_RETURN_IF_ERROR(OptionalInt(payload, "exp", &exp));
  if (!exp.has_value()) return Malformed("claim", "exp is missing");
  jwt.exp = *exp;
  return absl::OkStatus();
}

// A nlohmann SAX handler that builds the document as Json::parse does, but rejects duplicate keys
// (which Json::parse resolves silently, keeping the last) and stops at the first limit exceeded.
// nlohmann's SAX parser is iterative, so hostile nesting cannot exhaust the stack.
class StrictJsonBuilder {
 public:
  explicit StrictJsonBuilder(const JsonLimits& limits) : limits_(limits) {}

  // The first problem found, as a phrase after the document's name; nullptr if none.
  const char* problem() const { return problem_; }
  Json TakeRoot() { return std::move(root_); }

  // The nlohmann SAX interface; each returns false to stop the parse.
  bool null() { return Add(Json(nullptr)); }
  bool boolean(bool value) { return Add(Json(value)); }
  bool number_integer(Json::number_integer_t value) { return Add(Json(value)); }
  bool number_unsigned(Json::number_unsigned_t value) { return Add(Json(value)); }
  bool number_float(Json::number_float_t value, const Json::string_t& /*text*/) {
    return Add(Json(value));
  }
  bool string(Json::string_t& value) {
    if (value.size() > limits_.max_string_bytes) return Fail("has a string that is too long");
    return Add(Json(std::move(value)));  // nlohmann allows moving from `value`.
  }
  bool binary(Json::binary_t& /*value*/) { return Fail("is not valid JSON"); }  // Not in JSON.
  bool start_object(std::size_t /*size*/) { return Open(Json::value_t::object); }
  bool start_array(std::size_t /*size*/) { return Open(Json::value_t::array); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(Json::string_t& key) {
    if (key.size() > limits_.max_string_bytes) return Fail("has a key that is too long");
    Json::object_t& object = *stack_.back()->get_ptr<Json::object_t*>();
    if (stack_.size() == 1 && object.size() >= limits_.max_members) {
      return Fail("has too many members");
    }
    auto [it, inserted] = object.emplace(std::move(key), Json());
    if (!inserted) return Fail("has a duplicate key");
    value_slot_ = &it->second;
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const Json::exception& /*error*/) {
    return Fail("is not valid JSON");
  }

 private:
  bool Fail(const char* problem) {
    if (problem_ == nullptr) problem_ = problem;
    return false;
  }

  // Puts `value` where the parser stands: the root, the end of the open array, or the member of
  // the open object named by the last key. Returns where it went; the address stays valid while
  // the value's container is open (std::map nodes do not move; the array only grows after the
  // value is closed).
  Json* Place(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    if (Json::array_t* array = stack_.back()->get_ptr<Json::array_t*>()) {
      array->push_back(std::move(value));
      return &array->back();
    }
    *value_slot_ = std::move(value);
    return value_slot_;
  }
  bool Add(Json value) {
    Place(std::move(value));
    return true;
  }
  bool Open(Json::value_t type) {
    // stack_ holds the enclosing containers; the new one is one deeper.
    if (stack_.size() >= static_cast<size_t>(limits_.max_depth)) {
      return Fail("is nested too deeply");
    }
    stack_.push_back(Place(Json(type)));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }

  const JsonLimits& limits_;
  const char* problem_ = nullptr;
  Json root_;
  std::vector<Json*> stack_;    // The open containers, innermost last.
  Json* value_slot_ = nullptr;  // The member named by the last key of the innermost object.
};

}  // namespace

absl::StatusOr<nlohmann::json> ParseStrictJsonObject(absl::string_view text,
                                                     const JsonLimits& limits,
                                                     absl::string_view what) {
  StrictJsonBuilder builder(limits);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                                  /*strict=*/true);
  if (builder.problem() != nullptr) return Malformed(what, builder.problem());
  if (!ok) return Malformed(what, "is not valid JSON");
  Json result = builder.TakeRoot();
  if (!result.is_object()) return Malformed(what, "is not a JSON object");
  return result;
}

absl::StatusOr<Jwt> ParseJwt(absl::string_view token, const JwtLimits& limits) {
  if (token.empty()) return Malformed("token", "is empty");
  if (token.size() > limits.max_token_bytes) {
    return Malformed("token", absl::StrCat("is longer than ", limits.max_token_bytes, " bytes"));
  }
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == absl::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == absl::string_view::npos) return Malformed("token", "has fewer than 3 segments");
  if (token.find('.', dot2 + 1) != absl::string_view::npos) {
    return Malformed("token", "has more than 3 segments");
  }

  Jwt jwt;
  TOKEND_ASSIGN_OR_RETURN(std::string header,
                          DecodeSegment(token.substr(0, dot1), limits.max_header_bytes, "header"));
  TOKEND_ASSIGN_OR_RETURN(
      std::string payload,
      DecodeSegment(token.substr(dot1 + 1, dot2 - dot1 - 1), limits.max_payload_bytes, "payload"));
  TOKEND_ASSIGN_OR_RETURN(jwt.signature,
                          DecodeSegment(token.substr(dot2 + 1), token.size(), "signature"));

  const JsonLimits json_limits{limits.max_json_depth, limits.max_claims, limits.max_string_bytes};
  TOKEND_ASSIGN_OR_RETURN(jwt.header, ParseStrictJsonObject(header, json_limits, "header"));
  TOKEND_RETURN_IF_ERROR(ReadHeader(jwt));
  TOKEND_ASSIGN_OR_RETURN(jwt.payload, ParseStrictJsonObject(payload, json_limits, "payload"));
  TOKEND_RETURN_IF_ERROR(ReadClaims(limits, jwt));
  jwt.signing_input = std::string(token.substr(0, dot2));
  return jwt;
}

absl::string_view StripBearer(absl::string_view value) {
  constexpr absl::string_view kBearer = "Bearer ";
  if (absl::StartsWithIgnoreCase(value, kBearer)) value.remove_prefix(kBearer.size());
  return value;
}

}  // namespace tokend
