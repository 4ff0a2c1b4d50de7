#include "tests/bench/load_generator.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/bench/process_cpu.h"
#include "tokend/v1/tokend.pb.h"

namespace tokend::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr absl::Duration kConnectTimeout = absl::Seconds(10);

// True iff `response` is a ValidateTokenResponse with valid=true.
bool IsValidAnswer(const grpc::ByteBuffer& response) {
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  v1::ValidateTokenResponse answer;
  return answer.ParseFromString(bytes) && answer.valid();
}

// One slot of the closed loop: the call in flight on it.
struct Call {
  grpc::GenericStub* stub = nullptr;  // Not owned.
  // Declared before `reader`: the reader lives in the call's arena, which the context owns,
  // so the reader must be destroyed first.
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  grpc::ByteBuffer response;
  grpc::Status status;
  SteadyClock::time_point started;
};

// Drives the calls of one completion queue from one thread. Thread-compatible: Run() is called
// once, and the counts are read after it has returned.
class Worker {
 public:
  // `next_request` is shared by every worker: the index of the next request to send.
  Worker(const LoadOptions& options, const std::vector<grpc::ByteBuffer>& requests,
         std::atomic<size_t>* next_request, SteadyClock::time_point window_start,
         SteadyClock::time_point window_end)
      : options_(options),
        requests_(requests),
        next_request_(*next_request),
        window_start_(window_start),
        window_end_(window_end) {}

  void AddSlot(grpc::GenericStub* stub) {
    calls_.push_back(std::make_unique<Call>());
    calls_.back()->stub = stub;
  }

  // Keeps every slot busy until the window ends, then waits for the calls in flight.
  void Run() {
    size_t outstanding = 0;
    for (const std::unique_ptr<Call>& call : calls_) outstanding += Start(call.get()) ? 1 : 0;
    void* tag = nullptr;
    bool ok = false;
    while (outstanding > 0 && cq_.Next(&tag, &ok)) {
      Call* call = static_cast<Call*>(tag);
      const SteadyClock::time_point now = SteadyClock::now();
      if (now >= window_start_ && now < window_end_) Count(*call, now);
      if (now >= window_end_ || !Start(call)) --outstanding;
    }
    cq_.Shutdown();
    while (cq_.Next(&tag, &ok)) {
    }
    calls_.clear();
  }

  // Adds this worker's counts to `result`. REQUIRES: Run() has returned.
  void AddTo(LoadResult& result) const {
    for (size_t i = 0; i < by_code_.size(); ++i) {
      result.by_code[i] += by_code_[i];
      result.calls += by_code_[i];
    }
    result.latency_ns.Merge(latency_ns_);
    if (response_bytes_ > 0) result.response_bytes = response_bytes_;
    result.invalid_answers += invalid_answers_;
  }

  // When the last counted call completed; the epoch if none was.
  SteadyClock::time_point last_completion() const { return last_completion_; }

 private:
  // Starts the next call on `call`'s slot; false when each_once has sent every request.
  bool Start(Call* call) {
    size_t index = next_request_.fetch_add(1, std::memory_order_relaxed);
    if (index >= requests_.size()) {
      if (options_.each_once) return false;
      index %= requests_.size();
    }
    call->reader.reset();  // Before the context that owns its memory.
    call->context = std::make_unique<grpc::ClientContext>();
    call->context->set_deadline(std::chrono::system_clock::now() +
                                absl::ToChronoNanoseconds(options_.deadline));
    call->response.Clear();
    call->reader = call->stub->PrepareUnaryCall(call->context.get(), options_.method_path,
                                                requests_[index], &cq_);
    call->started = SteadyClock::now();
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
    return true;
  }

  void Count(const Call& call, SteadyClock::time_point now) {
    last_completion_ = now;
    const int code = static_cast<int>(call.status.error_code());
    ++by_code_[code >= 0 && code < static_cast<int>(by_code_.size()) ? code : 2];  // 2: UNKNOWN
    if (code == 0) {
      latency_ns_.Record(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - call.started).count());
      response_bytes_ = static_cast<int64_t>(call.response.Length());
      if (options_.check_valid && !IsValidAnswer(call.response)) ++invalid_answers_;
    }
  }

  // Constant after construction.
  const LoadOptions& options_;
  const std::vector<grpc::ByteBuffer>& requests_;
  std::atomic<size_t>& next_request_;  // Wraps harmlessly after 2^64 calls.
  const SteadyClock::time_point window_start_;
  const SteadyClock::time_point window_end_;

  grpc::CompletionQueue cq_;
  std::vector<std::unique_ptr<Call>> calls_;
  std::array<int64_t, 17> by_code_ = {};
  Histogram latency_ns_;
  int64_t response_bytes_ = 0;
  int64_t invalid_answers_ = 0;
  SteadyClock::time_point last_completion_;
};

// Opens `count` channels to `target`, each with its own subchannel (so its own connection),
// and waits until all are connected.
absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> Connect(const std::string& target,
                                                                    int count,
                                                                    absl::Duration timeout) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout);
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("tokend.loadgen.channel", i);  // Distinct args: never a shared subchannel.
    channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(deadline)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot connect to ", target, " within ", absl::FormatDuration(timeout)));
    }
  }
  return channels;
}

std::optional<absl::Duration> CpuOf(int pid) {
  absl::StatusOr<absl::Duration> cpu = ProcessCpuTime(pid);
  if (!cpu.ok()) return std::nullopt;
  return *cpu;
}

}  // namespace

const char* StatusCodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
  return kNames[code];
}

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options) {
  absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> channels =
      Connect(options.target, options.channels, kConnectTimeout);
  if (!channels.ok()) return channels.status();
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (const std::shared_ptr<grpc::Channel>& channel : *channels) {
    stubs.push_back(std::make_unique<grpc::GenericStub>(channel));
  }
  if (options.requests.empty()) return absl::InvalidArgumentError("no request to send");
  std::vector<grpc::ByteBuffer> requests;
  for (const std::string& bytes : options.requests) {
    grpc::Slice slice(bytes);
    requests.emplace_back(&slice, 1);
  }
  std::atomic<size_t> next_request{0};

  const SteadyClock::time_point begin = SteadyClock::now();
  const SteadyClock::time_point window_start =
      begin + (options.each_once ? SteadyClock::duration::zero()
                                 : absl::ToChronoNanoseconds(options.warmup));
  const SteadyClock::time_point window_end =
      window_start + absl::ToChronoNanoseconds(options.duration);
  const int thread_count = std::min(options.threads, options.concurrency);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < thread_count; ++i) {
    workers.push_back(
        std::make_unique<Worker>(options, requests, &next_request, window_start, window_end));
  }
  for (int slot = 0; slot < options.concurrency; ++slot) {
    workers[slot % thread_count]->AddSlot(stubs[slot % stubs.size()].get());
  }
  std::vector<std::thread> threads;
  for (const std::unique_ptr<Worker>& worker : workers) {
    threads.emplace_back([w = worker.get()] { w->Run(); });
  }

  LoadResult result;
  std::this_thread::sleep_until(window_start);
  const std::optional<absl::Duration> server_before =
      options.cpu_of_pid > 0 ? CpuOf(options.cpu_of_pid) : std::nullopt;
  const std::optional<absl::Duration> client_before = CpuOf(0);
  // each_once ends when the requests run out: wait for the workers rather than the clock.
  if (options.each_once) {
    for (std::thread& thread : threads) thread.join();
  } else {
    std::this_thread::sleep_until(window_end);
  }
  const std::optional<absl::Duration> server_after =
      options.cpu_of_pid > 0 ? CpuOf(options.cpu_of_pid) : std::nullopt;
  const std::optional<absl::Duration> client_after = CpuOf(0);
  for (std::thread& thread : threads) {
    if (thread.joinable()) thread.join();
  }

  SteadyClock::time_point last = window_start;
  for (const std::unique_ptr<Worker>& worker : workers) {
    worker->AddTo(result);
    last = std::max(last, worker->last_completion());
  }
  result.measured = absl::FromChrono((options.each_once ? last : window_end) - window_start);
  result.threads = thread_count;
  if (server_before && server_after) result.server_cpu = *server_after - *server_before;
  if (client_before && client_after) result.client_cpu = *client_after - *client_before;
  return result;
}

}  // namespace tokend::bench
