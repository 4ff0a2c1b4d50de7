#include "service/adapters/curl_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "service/common/status_macros.h"

#ifndef TOKEND_VERSION
#define TOKEND_VERSION "dev"
#endif

namespace tokend {

// One mutex per kind of shared data; libcurl takes them through the share's lock callbacks.
struct CurlHttpClient::ShareLocks {
  absl::Mutex mu[CURL_LOCK_DATA_LAST];

  // libcurl always unlocks on the thread that locked, so lock and unlock pair up even though
  // the analysis cannot see it.
  static void Lock(CURL* /*easy*/, curl_lock_data data, curl_lock_access /*access*/,
                   void* locks) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (data >= 0 && data < CURL_LOCK_DATA_LAST) static_cast<ShareLocks*>(locks)->mu[data].Lock();
  }
  static void Unlock(CURL* /*easy*/, curl_lock_data data,
                     void* locks) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (data >= 0 && data < CURL_LOCK_DATA_LAST) {
      static_cast<ShareLocks*>(locks)->mu[data].Unlock();
    }
  }
};

void CurlHttpClient::EasyDeleter::operator()(CURL* easy) const { curl_easy_cleanup(easy); }
void CurlHttpClient::ShareDeleter::operator()(CURLSH* share) const { curl_share_cleanup(share); }

namespace {

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using UrlPtr = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlFreeDeleter {
  void operator()(char* text) const { curl_free(text); }
};
using CurlStringPtr = std::unique_ptr<char, CurlFreeDeleter>;

absl::Status GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    return absl::FailedPreconditionError(
        absl::StrCat("curl_global_init failed: ", curl_easy_strerror(result)));
  }
  return absl::OkStatus();
}

bool HasLineBreakOrNul(absl::string_view text) {
  return text.find_first_of(absl::string_view("\r\n\0", 3)) != absl::string_view::npos;
}

// A request URL parsed by libcurl, which then sends exactly what was checked.
struct ParsedUrl {
  UrlPtr handle;
  bool https = false;
  std::string host;  // For error messages: never the path or the query.
};

absl::StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl parsed;
  parsed.handle.reset(curl_url());
  if (parsed.handle == nullptr) return absl::InternalError("curl_url failed");
  if (HasLineBreakOrNul(url) ||
      curl_url_set(parsed.handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("malformed URL");
  }
  char* part = nullptr;
  if (curl_url_get(parsed.handle.get(), CURLUPART_SCHEME, &part, 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("URL has no scheme");
  }
  const std::string scheme = absl::AsciiStrToLower(CurlStringPtr(part).get());
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError("URL scheme must be http or https");
  }
  parsed.https = scheme == "https";
  if (curl_url_get(parsed.handle.get(), CURLUPART_HOST, &part, 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("URL has no host");
  }
  parsed.host = CurlStringPtr(part).get();
  return parsed;
}

// The request headers as libcurl's list, plus "Expect:" so that a POST never waits for a
// "100 Continue".
absl::StatusOr<SlistPtr> BuildHeaderList(const HttpRequest& request) {
  SlistPtr list;
  auto append = [&list](const std::string& line) {
    curl_slist* extended = curl_slist_append(list.get(), line.c_str());
    if (extended == nullptr) return false;  // The old list is left intact.
    list.release();
    list.reset(extended);
    return true;
  };
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || HasLineBreakOrNul(name) ||
        name.find_first_of(": \t") != std::string::npos) {
      return absl::InvalidArgumentError("invalid header name");
    }
    if (HasLineBreakOrNul(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("value of header ", name, " contains CR, LF or NUL"));
    }
    // "Name:" would delete a header in libcurl; "Name;" sends it with an empty value.
    if (!append(value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value))) {
      return absl::InternalError("curl_slist_append failed");
    }
  }
  if (!append("Expect:")) return absl::InternalError("curl_slist_append failed");
  return list;
}

// What one transfer has received so far.
struct Transfer {
  size_t max_bytes = 0;
  size_t header_bytes = 0;
  bool too_large = false;
  HttpResponse response;
};

size_t OnBody(char* data, size_t size, size_t count, void* transfer_ptr) {
  auto* transfer = static_cast<Transfer*>(transfer_ptr);
  const size_t n = size * count;
  if (n > transfer->max_bytes - transfer->response.body.size()) {
    transfer->too_large = true;
    return 0;  // Not `n`: libcurl aborts the transfer.
  }
  transfer->response.body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* transfer_ptr) {
  auto* transfer = static_cast<Transfer*>(transfer_ptr);
  const size_t n = size * count;
  transfer->header_bytes += n;
  if (transfer->header_bytes > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;
  }
  std::vector<std::pair<std::string, std::string>>& headers = transfer->response.headers;
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    headers.clear();  // A new response starts, e.g. after "100 Continue": keep the last one.
    return n;
  }
  line = absl::StripTrailingAsciiWhitespace(line);
  if (line.empty()) return n;
  if (line[0] == ' ' || line[0] == '\t') {  // Obsolete line folding: continues the last value.
    if (!headers.empty()) {
      absl::StrAppend(&headers.back().second, " ", absl::StripLeadingAsciiWhitespace(line));
    }
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  headers.emplace_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
                       std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

// Milliseconds for a libcurl timeout: at least 1 (0 would mean "no timeout").
long TimeoutMillis(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<long>(
      std::clamp<int64_t>(ms, 1, static_cast<int64_t>(std::numeric_limits<long>::max())));
}

// Sets options in order and keeps the first failure.
class OptionSetter {
 public:
  explicit OptionSetter(CURL* easy) : easy_(easy) {}

  template <typename T>
  void Set(CURLoption option, T value) {
    if (result_ == CURLE_OK) result_ = curl_easy_setopt(easy_, option, value);
  }
  CURLcode result() const { return result_; }

 private:
  CURL* const easy_;
  CURLcode result_ = CURLE_OK;
};

}  // namespace

absl::StatusOr<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(
    const CurlHttpClientOptions& options) {
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout must be positive");
  }
  if (options.max_response_bytes == 0) {
    return absl::InvalidArgumentError("max_response_bytes must be positive");
  }
  if (options.max_connections_per_host < 1) {
    return absl::InvalidArgumentError("max_connections_per_host must be at least 1");
  }
  if (HasLineBreakOrNul(options.user_agent)) {
    return absl::InvalidArgumentError("user_agent contains CR, LF or NUL");
  }
  if (!options.ca_file.empty() && !std::ifstream(options.ca_file).good()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ca_file ", options.ca_file));
  }
  TOKEND_RETURN_IF_ERROR(GlobalInit());
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr || (info->features & CURL_VERSION_SSL) == 0) {
    return absl::FailedPreconditionError("libcurl has no TLS support");
  }

  auto locks = std::make_unique<ShareLocks>();
  SharePtr share(curl_share_init());
  if (share == nullptr) return absl::InternalError("curl_share_init failed");
  CURLSHcode rc = curl_share_setopt(share.get(), CURLSHOPT_LOCKFUNC, &ShareLocks::Lock);
  if (rc == CURLSHE_OK) {
    rc = curl_share_setopt(share.get(), CURLSHOPT_UNLOCKFUNC, &ShareLocks::Unlock);
  }
  if (rc == CURLSHE_OK) rc = curl_share_setopt(share.get(), CURLSHOPT_USERDATA, locks.get());
  if (rc == CURLSHE_OK) rc = curl_share_setopt(share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  if (rc == CURLSHE_OK) {
    rc = curl_share_setopt(share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  if (rc != CURLSHE_OK) {
    return absl::FailedPreconditionError(
        absl::StrCat("curl_share_setopt failed: ", curl_share_strerror(rc)));
  }
  return std::unique_ptr<CurlHttpClient>(
      new CurlHttpClient(options, std::move(locks), std::move(share)));
}

CurlHttpClient::CurlHttpClient(const CurlHttpClientOptions& options,
                               std::unique_ptr<ShareLocks> locks, SharePtr share)
    : options_(options),
      user_agent_(options.user_agent.empty() ? "tokend/" TOKEND_VERSION : options.user_agent),
      locks_(std::move(locks)),
      share_(std::move(share)) {}

CurlHttpClient::~CurlHttpClient() = default;

CurlHttpClient::EasyPtr CurlHttpClient::TakeHandle() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      EasyPtr easy = std::move(idle_.back());
      idle_.pop_back();
      return easy;
    }
  }
  EasyPtr easy(curl_easy_init());
  // curl_easy_reset keeps the share, so it is attached once.
  if (easy != nullptr && curl_easy_setopt(easy.get(), CURLOPT_SHARE, share_.get()) != CURLE_OK) {
    easy.reset();
  }
  return easy;
}

void CurlHttpClient::ReturnHandle(EasyPtr easy) {
  // Forget this request's options (they point into it); connections and caches stay.
  curl_easy_reset(easy.get());
  {
    absl::MutexLock lock(&mu_);
    if (idle_.size() < static_cast<size_t>(options_.max_connections_per_host)) {
      idle_.push_back(std::move(easy));
      return;
    }
  }
  // The pool is full: `easy` and its connections close here, outside the lock.
}

absl::StatusOr<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  const bool post = request.method == "POST";
  if (!post && request.method != "GET") {
    return absl::InvalidArgumentError("method must be GET or POST");
  }
  if (!post && !request.body.empty()) return absl::InvalidArgumentError("GET with a body");
  TOKEND_ASSIGN_OR_RETURN(ParsedUrl url, ParseUrl(request.url));
  TOKEND_ASSIGN_OR_RETURN(SlistPtr headers, BuildHeaderList(request));
  if (request.timeout <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError(absl::StrCat("no time left for the request to ", url.host));
  }
  const bool connect_limited = options_.connect_timeout < request.timeout;

  EasyPtr easy = TakeHandle();
  if (easy == nullptr) return absl::InternalError("cannot create a curl handle");
  Transfer transfer;
  transfer.max_bytes = options_.max_response_bytes;

  OptionSetter opt(easy.get());
  opt.Set(CURLOPT_NOSIGNAL, 1L);
  opt.Set(CURLOPT_CURLU, url.handle.get());
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0
  opt.Set(CURLOPT_PROTOCOLS_STR, "http,https");
  opt.Set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  opt.Set(CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  opt.Set(CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  opt.Set(CURLOPT_FOLLOWLOCATION, 0L);
  opt.Set(CURLOPT_SSL_VERIFYPEER, 1L);
  opt.Set(CURLOPT_SSL_VERIFYHOST, 2L);
  opt.Set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_file.empty()) opt.Set(CURLOPT_CAINFO, options_.ca_file.c_str());
  opt.Set(CURLOPT_TIMEOUT_MS, TimeoutMillis(request.timeout));
  opt.Set(CURLOPT_CONNECTTIMEOUT_MS,
          TimeoutMillis(std::min(options_.connect_timeout, request.timeout)));
  opt.Set(CURLOPT_USERAGENT, user_agent_.c_str());
  opt.Set(CURLOPT_HTTPHEADER, headers.get());
  if (post) {
    // No copy: libcurl reads the secret where it is, and it is wiped with the request.
    const absl::string_view body = request.body.Reveal();
    opt.Set(CURLOPT_POST, 1L);
    opt.Set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    opt.Set(CURLOPT_POSTFIELDS, body.data());
  } else {
    opt.Set(CURLOPT_HTTPGET, 1L);
  }
  opt.Set(CURLOPT_MAXFILESIZE_LARGE,
          static_cast<curl_off_t>(std::min<uint64_t>(options_.max_response_bytes,
                                                     std::numeric_limits<curl_off_t>::max())));
  opt.Set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  opt.Set(CURLOPT_HEADERFUNCTION, &OnHeader);
  opt.Set(CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
  opt.Set(CURLOPT_WRITEFUNCTION, &OnBody);
  opt.Set(CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  // libcurl's own words for a failure ("SSL certificate problem: self-signed certificate",
  // "Failed to connect to HOST port N: Connection refused"): hosts and reasons, never a body.
  char error_text[CURL_ERROR_SIZE] = {};
  opt.Set(CURLOPT_ERRORBUFFER, error_text);
  if (opt.result() != CURLE_OK) {
    const CURLcode rc = opt.result();
    ReturnHandle(std::move(easy));
    return absl::InternalError(absl::StrCat("curl option rejected: ", curl_easy_strerror(rc)));
  }

  const CURLcode rc = curl_easy_perform(easy.get());
  curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, nullptr);  // The buffer is this call's.
  long connects = 0;
  long status = 0;
  curl_off_t total_us = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy.get(), CURLINFO_TOTAL_TIME_T, &total_us);
  connections_opened_.fetch_add(connects);
  ReturnHandle(std::move(easy));

  if (rc == CURLE_OK) {
    transfer.response.status = static_cast<int>(status);
    return std::move(transfer.response);
  }
  std::string what = absl::StrCat("request to ", url.host, " failed: ", curl_easy_strerror(rc));
  if (error_text[0] != '\0') {
    absl::StrAppend(
        &what, " (",
        absl::CHexEscape(absl::string_view(error_text, strnlen(error_text, sizeof(error_text)))),
        ")");
  }
  if (transfer.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return absl::ResourceExhaustedError(absl::StrCat("response from ", url.host, " exceeds ",
                                                     options_.max_response_bytes, " bytes"));
  }
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      // Before the request's own timeout only the connect timeout can have fired.
      if (connect_limited && total_us < absl::ToInt64Microseconds(request.timeout)) {
        return absl::UnavailableError(absl::StrCat("connecting to ", url.host, " timed out"));
      }
      return absl::DeadlineExceededError(what);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return absl::InvalidArgumentError(what);
    case CURLE_SSL_CACERT_BADFILE:
    // The provider's certificate was not trusted (or its pinned key did not match): a matter of
    // configuration (CA bundle, proxy, authority host), which retrying does not change.
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ISSUER_ERROR:
      return absl::FailedPreconditionError(what);
    case CURLE_OUT_OF_MEMORY:
      return absl::InternalError(what);
    default:
      // Refused, reset or dropped connections, name resolution and TLS handshake failures: no
      // response arrived.
      return absl::UnavailableError(what);
  }
}

}  // namespace tokend
