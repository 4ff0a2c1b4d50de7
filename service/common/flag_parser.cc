#include "service/common/flag_parser.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tokend {
namespace {

const std::string& Empty() {
  static const std::string* empty = new std::string();
  return *empty;
}

}  // namespace

const std::string& FlagValues::Get(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return Empty();
  return it->second.back();
}

const std::vector<std::string>& FlagValues::GetAll(absl::string_view name) const {
  static const std::vector<std::string>* none = new std::vector<std::string>();
  auto it = values_.find(name);
  return it == values_.end() ? *none : it->second;
}

bool FlagValues::GetBool(absl::string_view name) const { return Get(name) == "true"; }

std::string FlagValues::Origin(absl::string_view name) const {
  auto it = origins_.find(name);
  return it == origins_.end() ? absl::StrCat("--", name) : it->second;
}

const FlagSpec* FlagParser::Find(absl::string_view name) const {
  for (const FlagSpec& spec : specs_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

absl::StatusOr<FlagValues> FlagParser::Parse(const std::vector<std::string>& args,
                                             const EnvLookup& env, bool stop_at_positional) const {
  FlagValues out;
  // Defaults, then the environment.
  for (const FlagSpec& spec : specs_) {
    const char* from_env = spec.env.empty() || !env ? nullptr : env(spec.env.c_str());
    if (from_env != nullptr) {
      std::string value = from_env;
      if (spec.value_name.empty()) {
        std::string lower = absl::AsciiStrToLower(value);
        if (lower == "1" || lower == "true") {
          value = "true";
        } else if (lower == "0" || lower == "false" || lower.empty()) {
          value = "false";
        } else {
          return absl::InvalidArgumentError(absl::StrCat(spec.env, " (environment, for --",
                                                         spec.name, "): must be true or false"));
        }
      }
      out.values_[spec.name] = spec.repeated ? SplitList(value) : std::vector<std::string>{value};
      out.origins_[spec.name] = absl::StrCat(spec.env, " (environment)");
    } else if (spec.value_name.empty()) {
      out.values_[spec.name] = {"false"};
    } else if (!spec.default_value.empty()) {
      out.values_[spec.name] = {spec.default_value};
    }
  }
  // The command line.
  std::map<std::string, bool, std::less<>> seen_on_command_line;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help_ = true;
      continue;
    }
    if (arg == "--") {
      out.positional_.insert(out.positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      if (stop_at_positional) {
        out.positional_.insert(out.positional_.end(), args.begin() + i, args.end());
        break;
      }
      // The argument itself is not quoted: it might be a secret or a token pasted by mistake.
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument #", i + 1, " (flags start with --; see --help)"));
    }
    absl::string_view body = arg.substr(2);
    absl::string_view name = body;
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      value = std::string(body.substr(eq + 1));
      has_value = true;
    }
    const FlagSpec* spec = Find(name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help for the flags)"));
    }
    if (spec->value_name.empty()) {
      if (has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value (got \"", value, "\")"));
      }
      value = "true";
    } else if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value (", spec->value_name, ")"));
      }
      value = args[++i];
    }
    std::vector<std::string>& values = out.values_[spec->name];
    if (!seen_on_command_line[spec->name]) values.clear();  // Replace env and default.
    seen_on_command_line[spec->name] = true;
    if (spec->repeated) {
      values.push_back(std::move(value));
    } else {
      values = {std::move(value)};
    }
    out.origins_[spec->name] = absl::StrCat("--", spec->name);
  }
  return out;
}

std::string FlagParser::Usage() const {
  std::string out;
  for (const FlagSpec& spec : specs_) {
    absl::StrAppend(&out, "  --", spec.name);
    if (!spec.value_name.empty()) absl::StrAppend(&out, " ", spec.value_name);
    absl::StrAppend(&out, "\n      ", spec.help);
    if (!spec.default_value.empty()) absl::StrAppend(&out, " Default: ", spec.default_value, ".");
    if (!spec.env.empty()) absl::StrAppend(&out, " Environment: ", spec.env, ".");
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::vector<std::string> SplitList(absl::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

}  // namespace tokend
