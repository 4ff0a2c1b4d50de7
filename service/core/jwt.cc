#include "service/core/jwt.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
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

// Enforces JsonLimits and rejects duplicate keys in any object (nlohmann's own parser silently
// keeps the last), building nothing. Fed one JSON token at a time; each method returns false at
// the first violation. Duplicates are looked for when an object closes or the parse stops.
class JsonChecker {
 public:
  explicit JsonChecker(const JsonLimits& limits) : limits_(limits) {
    keys_.reserve(32);  // Enough for most tokens.
  }

  // How many containers are open: 0 at the root, 1 among the root's members and so on.
  int depth() const { return depth_; }

  // The first problem in the document, as a phrase after its name; nullptr if none. For when
  // the parse has stopped.
  const char* FirstProblem() {
    // A duplicate key in an open object came before whatever stopped the parse.
    for (size_t i = 0; i < object_starts_.size(); ++i) {
      const size_t end = i + 1 < object_starts_.size() ? object_starts_[i + 1] : keys_.size();
      if (HasDuplicate(object_starts_[i], end)) return kDuplicate;
    }
    return problem_;
  }

  bool Fail(const char* problem) {
    if (problem_ == nullptr) problem_ = problem;
    return false;
  }
  bool String(const std::string& value) {
    return value.size() <= limits_.max_string_bytes || Fail("has a string that is too long");
  }
  bool Open(bool object) {
    // The new container is one deeper than the open ones.
    if (depth_ >= limits_.max_depth) return Fail("is nested too deeply");
    ++depth_;
    if (object) object_starts_.push_back(keys_.size());
    return true;
  }
  bool Close(bool object) {
    --depth_;
    if (!object) return true;
    const size_t start = object_starts_.back();
    object_starts_.pop_back();
    if (HasDuplicate(start, keys_.size())) return Fail(kDuplicate);
    keys_.resize(start);
    return true;
  }
  bool Key(const std::string& key) {
    if (key.size() > limits_.max_string_bytes) return Fail("has a key that is too long");
    const size_t members = keys_.size() - object_starts_.back();  // Of the innermost object.
    if (depth_ == 1 && members >= limits_.max_members) return Fail("has too many members");
    keys_.push_back(key);
    return true;
  }

 private:
  static constexpr char kDuplicate[] = "has a duplicate key";

  // Whether keys_[start, end) holds a key twice. Sorts them.
  bool HasDuplicate(size_t start, size_t end) {
    const auto first = keys_.begin() + static_cast<std::ptrdiff_t>(start);
    const auto last = keys_.begin() + static_cast<std::ptrdiff_t>(end);
    std::sort(first, last);
    return std::adjacent_find(first, last) != last;
  }

  const JsonLimits& limits_;
  const char* problem_ = nullptr;
  int depth_ = 0;
  std::vector<std::string> keys_;      // The keys of the open objects, outermost first.
  std::vector<size_t> object_starts_;  // Where each open object's keys start in keys_.
};

// The status of a parse of `what` that ended with `read_ok` (false for a syntax error or a stop
// by the checker) and a root that `root_is_object` or not.
absl::Status JsonOutcome(bool read_ok, JsonChecker& checker, bool root_is_object,
                         absl::string_view what) {
  if (const char* problem = checker.FirstProblem()) return Malformed(what, problem);
  if (!read_ok) return Malformed(what, "is not valid JSON");
  if (!root_is_object) return Malformed(what, "is not a JSON object");
  return absl::OkStatus();
}

// A nlohmann SAX handler that builds the document as Json::parse does, within the limits of a
// JsonChecker. nlohmann's SAX parser is iterative, so hostile nesting cannot exhaust the stack.
class StrictJsonBuilder {
 public:
  explicit StrictJsonBuilder(const JsonLimits& limits) : checker_(limits) {}

  JsonChecker& checker() { return checker_; }
  Json& root() { return root_; }

  // The nlohmann SAX interface; each returns false to stop the parse.
  bool null() { return Add(Json(nullptr)); }
  bool boolean(bool value) { return Add(Json(value)); }
  bool number_integer(Json::number_integer_t value) { return Add(Json(value)); }
  bool number_unsigned(Json::number_unsigned_t value) { return Add(Json(value)); }
  bool number_float(Json::number_float_t value, const Json::string_t& /*text*/) {
    return Add(Json(value));
  }
  bool string(Json::string_t& value) {
    return checker_.String(value) && Add(Json(std::move(value)));  // nlohmann allows the move.
  }
  bool binary(Json::binary_t& /*value*/) { return checker_.Fail("is not valid JSON"); }
  bool start_object(std::size_t /*size*/) { return Open(Json::value_t::object); }
  bool start_array(std::size_t /*size*/) { return Open(Json::value_t::array); }
  bool end_object() { return Close(/*object=*/true); }
  bool end_array() { return Close(/*object=*/false); }
  bool key(Json::string_t& key) {
    if (!checker_.Key(key)) return false;
    // A duplicate key finds its first member, which it replaces; the checker then fails.
    Json::object_t& object = *stack_.back()->get_ptr<Json::object_t*>();
    value_slot_ = &object.emplace(std::move(key), Json()).first->second;
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const Json::exception& /*error*/) {
    return false;  // JsonOutcome reports it.
  }

 private:
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
    if (!checker_.Open(type == Json::value_t::object)) return false;
    stack_.push_back(Place(Json(type)));
    return true;
  }
  bool Close(bool object) {
    stack_.pop_back();
    return checker_.Close(object);
  }

  JsonChecker checker_;
  Json root_;
  std::vector<Json*> stack_;    // The open containers, innermost last.
  Json* value_slot_ = nullptr;  // The member named by the last key of the innermost object.
};

// The bytes that stand for themselves inside a JSON string: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> kLiteral = [] {
  std::array<bool, 256> literal{};
  for (int c = 0x20; c < 0x80; ++c) literal[c] = c != '"' && c != '\\';
  return literal;
}();

// Reads one JSON text as strictly as Json::sax_parse (RFC 8259 in UTF-8, an optional leading byte
// order mark, no comments, nothing but whitespace after the value; but a NUL byte, which ends the
// text for nlohmann, is an error) and reports its tokens to `handler` in the same order:
// Open(object) and Close(object) for containers, Key and String with the unescaped string,
// Integer for negative integers, Unsigned for the others, and Other for null, true, false and the
// numbers nlohmann reads as floating point (with a fraction or an exponent, or beyond 64 bits).
// Stops at the first syntax error or the first handler method that returns false, and returns
// false then. Iterative, so hostile nesting cannot exhaust the stack.
//
// ParseJwt's hot path: nlohmann's lexer takes about 5 ns a byte, more than all the rest together.
template <typename Handler>
class JsonReader {
 public:
  JsonReader(absl::string_view text, Handler& handler) : rest_(text), handler_(handler) {}

  bool Read() {
    absl::ConsumePrefix(&rest_, "\xEF\xBB\xBF");  // A byte order mark.
    if (!ReadValue()) return false;
    while (!open_.empty()) {
      const bool object = open_.back();
      SkipWhitespace();
      if (Consume(object ? '}' : ']')) {
        open_.pop_back();
        empty_ = false;
        if (!handler_.Close(object)) return false;
        continue;
      }
      if (!empty_ && !Consume(',')) return false;
      if (object && !ReadKey()) return false;
      if (!ReadValue()) return false;
    }
    SkipWhitespace();
    return rest_.empty();
  }

 private:
  void SkipWhitespace() {
    while (!rest_.empty() &&
           (rest_[0] == ' ' || rest_[0] == '\n' || rest_[0] == '\r' || rest_[0] == '\t')) {
      rest_.remove_prefix(1);
    }
  }
  bool Consume(char c) { return absl::ConsumePrefix(&rest_, absl::string_view(&c, 1)); }

  bool ReadKey() {
    SkipWhitespace();
    if (!ReadString() || !handler_.Key(string_)) return false;
    SkipWhitespace();
    return Consume(':');
  }

  // Reads a value, or just the opening of a container.
  bool ReadValue() {
    SkipWhitespace();
    if (rest_.empty()) return false;
    empty_ = false;
    switch (rest_[0]) {
      case '{':
      case '[': {
        const bool object = rest_[0] == '{';
        rest_.remove_prefix(1);
        if (!handler_.Open(object)) return false;
        open_.push_back(object);
        empty_ = true;
        return true;
      }
      case '"':
        return ReadString() && handler_.String(string_);
      case 't':
        return absl::ConsumePrefix(&rest_, "true") && handler_.Other();
      case 'f':
        return absl::ConsumePrefix(&rest_, "false") && handler_.Other();
      case 'n':
        return absl::ConsumePrefix(&rest_, "null") && handler_.Other();
      default:
        return ReadNumber();
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool ReadNumber() {
    const char* start = rest_.data();
    const bool negative = Consume('-');
    if (rest_.empty() || !absl::ascii_isdigit(rest_[0])) return false;
    uint64_t magnitude = 0;
    bool fits = true;  // In a uint64.
    if (!Consume('0')) {
      while (!rest_.empty() && absl::ascii_isdigit(rest_[0])) {
        const uint64_t digit = static_cast<uint64_t>(rest_[0] - '0');
        fits = fits && magnitude <= (std::numeric_limits<uint64_t>::max() - digit) / 10;
        magnitude = magnitude * 10 + digit;
        rest_.remove_prefix(1);
      }
    }
    bool integer = true;
    if (Consume('.')) {
      integer = false;
      if (!ReadDigits()) return false;
    }
    if (Consume('e') || Consume('E')) {
      integer = false;
      if (!Consume('+')) Consume('-');
      if (!ReadDigits()) return false;
    }
    constexpr uint64_t kInt64MinMagnitude = uint64_t{1} << 63;
    if (integer && fits && !negative) return handler_.Unsigned(magnitude);
    if (integer && fits && magnitude < kInt64MinMagnitude) {
      return handler_.Integer(-static_cast<int64_t>(magnitude));
    }
    if (integer && fits && magnitude == kInt64MinMagnitude) {
      return handler_.Integer(std::numeric_limits<int64_t>::min());
    }
    // Floating point, which nlohmann rejects when it overflows to infinity: let it decide.
    return Json::accept(start, rest_.data()) && handler_.Other();
  }
  // One or more digits.
  bool ReadDigits() {
    const size_t count = std::min(rest_.find_first_not_of("0123456789"), rest_.size());
    rest_.remove_prefix(count);
    return count > 0;
  }

  // Reads a string (at its opening quote) into string_, unescaped.
  bool ReadString() {
    if (!Consume('"')) return false;
    string_.clear();
    while (true) {
      // Copy the run of characters that stand for themselves.
      size_t run = 0;
      while (run < rest_.size() && kLiteral[static_cast<unsigned char>(rest_[run])]) ++run;
      string_.append(rest_.data(), run);
      rest_.remove_prefix(run);
      if (rest_.empty()) return false;
      const auto c = static_cast<unsigned char>(rest_[0]);
      if (c == '"') {
        rest_.remove_prefix(1);
        return true;
      }
      if (c < 0x20) return false;  // Control characters must be escaped.
      if (!(c == '\\' ? ReadEscape() : ReadUtf8Sequence())) return false;
    }
  }

  // Appends the character that the escape sequence at rest_ stands for to string_.
  bool ReadEscape() {
    constexpr absl::string_view kEscapes = "\"\\/bfnrt";
    constexpr absl::string_view kCharacters = "\"\\/\b\f\n\r\t";
    if (rest_.size() < 2) return false;
    const char c = rest_[1];
    rest_.remove_prefix(2);
    if (const size_t i = kEscapes.find(c); i != absl::string_view::npos) {
      string_ += kCharacters[i];
      return true;
    }
    uint32_t code_point = 0;
    if (c != 'u' || !ReadHex4(&code_point) || (code_point >= 0xDC00 && code_point <= 0xDFFF)) {
      return false;
    }
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {  // Needs a low surrogate to follow.
      uint32_t low = 0;
      if (!absl::ConsumePrefix(&rest_, "\\u") || !ReadHex4(&low) || low < 0xDC00 || low > 0xDFFF) {
        return false;
      }
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(code_point);
    return true;
  }
  bool ReadHex4(uint32_t* value) {
    if (rest_.size() < 4) return false;
    uint32_t result = 0;
    for (const char c : rest_.substr(0, 4)) {
      if (!absl::ascii_isxdigit(c)) return false;
      const int digit = absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10;
      result = result << 4 | static_cast<uint32_t>(digit);
    }
    rest_.remove_prefix(4);
    *value = result;
    return true;
  }
  void AppendUtf8(uint32_t code_point) {
    if (code_point < 0x80) {
      string_ += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
      string_ += static_cast<char>(0xC0 | code_point >> 6);
      string_ += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
      string_ += static_cast<char>(0xE0 | code_point >> 12);
      string_ += static_cast<char>(0x80 | (code_point >> 6 & 0x3F));
      string_ += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
      string_ += static_cast<char>(0xF0 | code_point >> 18);
      string_ += static_cast<char>(0x80 | (code_point >> 12 & 0x3F));
      string_ += static_cast<char>(0x80 | (code_point >> 6 & 0x3F));
      string_ += static_cast<char>(0x80 | (code_point & 0x3F));
    }
  }

  // Appends the multi-byte UTF-8 sequence at rest_ to string_ if it is well-formed (Unicode
  // table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
  bool ReadUtf8Sequence() {
    const auto lead = static_cast<unsigned char>(rest_[0]);
    size_t length = 0;
    unsigned char second_min = 0x80;  // The range of the second byte; later ones are 80..BF.
    unsigned char second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      return false;
    }
    if (rest_.size() < length) return false;
    for (size_t i = 1; i < length; ++i) {
      const auto c = static_cast<unsigned char>(rest_[i]);
      if (c < (i == 1 ? second_min : 0x80) || c > (i == 1 ? second_max : 0xBF)) return false;
    }
    string_.append(rest_.data(), length);
    rest_.remove_prefix(length);
    return true;
  }

  absl::string_view rest_;  // What is left to read.
  Handler& handler_;
  std::vector<bool> open_;  // The open containers, innermost last: true for an object.
  bool empty_ = false;      // Whether the innermost open container has no member yet.
  std::string string_;      // The last string read.
};

// A member of the root object that ParseJwt reads, as far as it looks at it.
struct Member {
  enum class Type { kAbsent, kString, kInteger, kUnsigned, kArray, kOther };

  explicit Member(absl::string_view member_name) : name(member_name) {}

  absl::string_view name;
  Type type = Type::kAbsent;
  std::string string;                // kString.
  int64_t integer = 0;               // kInteger.
  uint64_t unsigned_integer = 0;     // kUnsigned.
  size_t entries = 0;                // kArray: all its entries.
  std::vector<std::string> strings;  // kArray: the entries that are strings.
};

// A JsonReader handler that checks the document with a JsonChecker, as ParseStrictJsonObject
// does, builds nothing, and fills in the Members named by the keys of the root object.
class MemberReader {
 public:
  MemberReader(const JsonLimits& limits, absl::Span<Member* const> members)
      : checker_(limits), members_(members) {}

  JsonChecker& checker() { return checker_; }
  bool root_is_object() const { return root_is_object_; }

  // The JsonReader handler interface; each returns false to stop the parse.
  bool Open(bool object) {
    if (checker_.depth() == 0) root_is_object_ = object;
    AddValue(object ? Member::Type::kOther : Member::Type::kArray);
    return checker_.Open(object);
  }
  bool Close(bool object) { return checker_.Close(object); }
  bool Key(const std::string& key) {
    if (!checker_.Key(key)) return false;
    if (checker_.depth() == 1) current_ = Find(key);
    return true;
  }
  bool String(const std::string& value) {
    if (!checker_.String(value)) return false;
    if (Member* member = MemberValue()) member->string = value;
    if (Member* array = ArrayEntry()) array->strings.push_back(value);
    return AddValue(Member::Type::kString);
  }
  bool Integer(int64_t value) {
    if (Member* member = MemberValue()) member->integer = value;
    return AddValue(Member::Type::kInteger);
  }
  bool Unsigned(uint64_t value) {
    if (Member* member = MemberValue()) member->unsigned_integer = value;
    return AddValue(Member::Type::kUnsigned);
  }
  bool Other() { return AddValue(Member::Type::kOther); }

 private:
  Member* Find(absl::string_view name) const {
    for (Member* member : members_) {
      if (member->name == name) return member;
    }
    return nullptr;
  }
  // The Member whose value the reader is at, if any.
  Member* MemberValue() const { return checker_.depth() == 1 ? current_ : nullptr; }
  // The Member whose array holds the value the reader is at, if any.
  Member* ArrayEntry() const {
    return checker_.depth() == 2 && current_ != nullptr && current_->type == Member::Type::kArray
               ? current_
               : nullptr;
  }
  // Records a value of `type` (a container when it opens) where it belongs.
  bool AddValue(Member::Type type) {
    if (Member* member = MemberValue()) member->type = type;
    if (Member* array = ArrayEntry()) ++array->entries;
    return true;
  }

  JsonChecker checker_;
  absl::Span<Member* const> members_;
  bool root_is_object_ = false;
  Member* current_ = nullptr;  // Named by the last key of the root object, if it is read.
};

// Reads the JSON object `json` (named `what` in errors) with `members` filled in.
absl::Status ReadMembers(absl::string_view json, const JsonLimits& limits,
                         absl::Span<Member* const> members, absl::string_view what) {
  MemberReader reader(limits, members);
  const bool ok = JsonReader<MemberReader>(json, reader).Read();
  return JsonOutcome(ok, reader.checker(), reader.root_is_object(), what);
}

// Moves the string `member` to *out if it is present. Error if it is present but not a string.
absl::Status TakeString(Member& member, absl::string_view what, std::string* out) {
  if (member.type == Member::Type::kAbsent) return absl::OkStatus();
  if (member.type != Member::Type::kString) {
    return Malformed(what, absl::StrCat(member.name, " is not a string"));
  }
  *out = std::move(member.string);
  return absl::OkStatus();
}

// Sets *out to the integer `member` if it is present. Error if it is present but not an integer
// that fits in int64 (floats included, "1e9" is not an integer).
absl::Status TakeInt(const Member& member, std::optional<int64_t>* out) {
  switch (member.type) {
    case Member::Type::kAbsent:
      return absl::OkStatus();
    case Member::Type::kInteger:
      *out = member.integer;
      return absl::OkStatus();
    case Member::Type::kUnsigned:
      if (member.unsigned_integer > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Malformed("claim", absl::StrCat(member.name, " is out of range"));
      }
      *out = static_cast<int64_t>(member.unsigned_integer);
      return absl::OkStatus();
    default:
      return Malformed("claim", absl::StrCat(member.name, " is not an integer"));
  }
}

// Moves the strings of the array `member` to *out. Error for anything else.
absl::Status TakeStringArray(Member& member, size_t max_entries, std::vector<std::string>* out) {
  if (member.type != Member::Type::kArray) {
    return Malformed("claim", absl::StrCat(member.name, " is not an array"));
  }
  if (member.entries > max_entries) {
    return Malformed("claim",
                     absl::StrCat(member.name, " has more than ", max_entries, " entries"));
  }
  if (member.strings.size() != member.entries) {
    return Malformed("claim", absl::StrCat(member.name, " holds a non-string"));
  }
  *out = std::move(member.strings);
  return absl::OkStatus();
}

absl::Status ReadHeader(absl::string_view json, const JsonLimits& limits, Jwt& jwt) {
  Member alg("alg"), kid("kid"), typ("typ"), x5t("x5t"), crit("crit");
  TOKEND_RETURN_IF_ERROR(ReadMembers(json, limits, {&alg, &kid, &typ, &x5t, &crit}, "header"));
  if (crit.type != Member::Type::kAbsent) {
    return Malformed("header", "has crit, which is not supported");
  }
  if (alg.type == Member::Type::kAbsent) return Malformed("header", "has no alg");
  TOKEND_RETURN_IF_ERROR(TakeString(alg, "header", &jwt.alg));
  if (jwt.alg.empty()) return Malformed("header", "has an empty alg");
  TOKEND_RETURN_IF_ERROR(TakeString(kid, "header", &jwt.kid));
  TOKEND_RETURN_IF_ERROR(TakeString(typ, "header", &jwt.typ));
  return TakeString(x5t, "header", &jwt.x5t);
}

absl::Status ReadClaims(absl::string_view json, const JsonLimits& json_limits,
                        const JwtLimits& limits, Jwt& jwt) {
  Member iss("iss"), tid("tid"), appid("appid"), azp("azp"), oid("oid"), ver("ver"), aud("aud"),
      roles("roles"), iat("iat"), nbf("nbf"), exp("exp");
  TOKEND_RETURN_IF_ERROR(ReadMembers(
      json, json_limits, {&iss, &tid, &appid, &azp, &oid, &ver, &aud, &roles, &iat, &nbf, &exp},
      "payload"));
  const std::pair<Member*, std::string*> string_claims[] = {{&iss, &jwt.iss},     {&tid, &jwt.tid},
                                                            {&appid, &jwt.appid}, {&azp, &jwt.azp},
                                                            {&oid, &jwt.oid},     {&ver, &jwt.ver}};
  for (const auto& [member, field] : string_claims) {
    TOKEND_RETURN_IF_ERROR(TakeString(*member, "claim", field));
  }
  if (aud.type == Member::Type::kString) {
    jwt.aud.push_back(std::move(aud.string));
  } else if (aud.type != Member::Type::kAbsent) {
    TOKEND_RETURN_IF_ERROR(TakeStringArray(aud, limits.max_roles, &jwt.aud));
  }
  if (roles.type != Member::Type::kAbsent) {
    TOKEND_RETURN_IF_ERROR(TakeStringArray(roles, limits.max_roles, &jwt.roles));
  }
  TOKEND_RETURN_IF_ERROR(TakeInt(iat, &jwt.iat));
  TOKEND_RETURN_IF_ERROR(TakeInt(nbf, &jwt.nbf));
  std::optional<int64_t> exp_value;
  TOKEND_RETURN_IF_ERROR(TakeInt(exp, &exp_value));
  if (!exp_value.has_value()) return Malformed("claim", "exp is missing");
  jwt.exp = *exp_value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseStrictJsonObject(absl::string_view text,
                                                     const JsonLimits& limits,
                                                     absl::string_view what) {
  StrictJsonBuilder builder(limits);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                                  /*strict=*/true);
  TOKEND_RETURN_IF_ERROR(JsonOutcome(ok, builder.checker(), builder.root().is_object(), what));
  return std::move(builder.root());
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
  TOKEND_RETURN_IF_ERROR(ReadHeader(header, json_limits, jwt));
  TOKEND_RETURN_IF_ERROR(ReadClaims(payload, json_limits, limits, jwt));
  jwt.signing_input = std::string(token.substr(0, dot2));
  return jwt;
}

absl::string_view StripBearer(absl::string_view value) {
  constexpr absl::string_view kBearer = "Bearer ";
  if (absl::StartsWithIgnoreCase(value, kBearer)) value.remove_prefix(kBearer.size());
  return value;
}

}  // namespace tokend
