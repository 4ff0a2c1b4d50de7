#include "tests/bench/load_generator.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
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

// One slot: the call in flight on it.
struct Call {
  grpc::GenericStub* stub = nullptr;  // Not owned.
  // Declared before `reader`: the reader lives in the call's arena, which the context owns,
  // so the reader must be destroyed first.
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  grpc::ByteBuffer response;
  grpc::Status status;
  SteadyClock::time_point started;  // Open loop: when the call was due.
};

// Drives the calls of one completion queue from one thread. Thread-compatible: Run() is called
// once, and the counts are read after it has returned.
class Worker {
 public:
  // `next_request` is shared by every worker: the index of the next request to send. Open loop
  // (options.rate > 0): this worker starts a call every `interval`, the first at `first_due`.
  Worker(const LoadOptions& options, const std::vector<grpc::ByteBuffer>& requests,
         std::atomic<size_t>* next_request, SteadyClock::time_point window_start,
         SteadyClock::time_point window_end, SteadyClock::time_point first_due = {},
         SteadyClock::duration interval = {})
      : options_(options),
        requests_(requests),
        next_request_(*next_request),
        window_start_(window_start),
        window_end_(window_end),
        first_due_(first_due),
        interval_(interval) {}

  void AddSlot(grpc::GenericStub* stub) {
    calls_.push_back(std::make_unique<Call>());
    calls_.back()->stub = stub;
  }

  // Keeps every slot busy until the window ends (open loop: starts the calls as they fall due),
  // then waits for the calls in flight.
  void Run() {
    if (options_.rate > 0) {
      RunOpenLoop();
      return;
    }
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
    result.slot_waits += slot_waits_;
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
  // The open loop, on two threads: this one takes the completions while a scheduler thread
  // sleeps until each call falls due (every interval_ from first_due_ until the window ends) and
  // starts it on a free slot, or, when every slot is busy, as soon as one frees (counted in
  // slot_waits_ when the call was due inside the window; not at all if the window ends first).
  // Latency runs from the due time. (The completion queue's own timeouts wake up milliseconds
  // late, which would add to every latency.)
  void RunOpenLoop() {
    for (const std::unique_ptr<Call>& call : calls_) idle_.push_back(call.get());
    std::thread scheduler([this] { Schedule(); });
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
      Call* call = static_cast<Call*>(tag);
      const SteadyClock::time_point now = SteadyClock::now();
      if (now >= window_start_ && now < window_end_) Count(*call, now);
      std::lock_guard<std::mutex> lock(slots_mu_);
      idle_.push_back(call);
      --outstanding_;
      slot_freed_.notify_one();
    }
    scheduler.join();
    calls_.clear();
  }

  // The scheduler thread of the open loop. Stops when the window ends (a call started later
  // could not be counted), and shuts the completion queue down when the last call it started has
  // completed.
  void Schedule() {
    SteadyClock::time_point due = first_due_;
    // Every call due before this time found all slots busy.
    SteadyClock::time_point blocked_until = SteadyClock::time_point::min();
    while (due < window_end_) {
      std::this_thread::sleep_until(due);
      Call* call = nullptr;
      {
        std::unique_lock<std::mutex> lock(slots_mu_);
        if (idle_.empty()) {
          slot_freed_.wait(lock, [this] { return !idle_.empty(); });
          blocked_until = SteadyClock::now();
        }
        if (SteadyClock::now() >= window_end_) {
          // The calls still due are not sent; those that found every slot busy are counted.
          const SteadyClock::time_point from = std::max(due, window_start_);
          const SteadyClock::time_point to = std::min(blocked_until, window_end_);
          if (to > from) {
            slot_waits_ += (to - from + interval_ - SteadyClock::duration(1)) / interval_;
          }
          break;
        }
        call = idle_.back();
        idle_.pop_back();
        ++outstanding_;
      }
      if (!Start(call, due)) {  // each_once: every request sent.
        std::lock_guard<std::mutex> lock(slots_mu_);
        idle_.push_back(call);
        --outstanding_;
        break;
      }
      if (due < blocked_until && due >= window_start_) ++slot_waits_;
      due += interval_;
    }
    {
      std::unique_lock<std::mutex> lock(slots_mu_);
      slot_freed_.wait(lock, [this] { return outstanding_ == 0; });
    }
    cq_.Shutdown();
  }

  // Starts the next call on `call`'s slot; false when each_once has sent every request.
  // `due`: when the call was due (open loop), the time its latency is measured from.
  bool Start(Call* call, std::optional<SteadyClock::time_point> due = std::nullopt) {
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
    call->started = due.value_or(SteadyClock::now());
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
  const SteadyClock::time_point first_due_;
  const SteadyClock::duration interval_;

  grpc::CompletionQueue cq_;
  std::vector<std::unique_ptr<Call>> calls_;
  std::array<int64_t, 17> by_code_ = {};
  Histogram latency_ns_;
  int64_t response_bytes_ = 0;
  int64_t invalid_answers_ = 0;
  int64_t slot_waits_ = 0;  // Open loop: written by the scheduler thread only.
  SteadyClock::time_point last_completion_;

  // Open loop: the slots without a call in flight, and the calls in flight.
  std::mutex slots_mu_;
  std::condition_variable slot_freed_;
  std::vector<Call*> idle_;  // Guarded by slots_mu_.
  size_t outstanding_ = 0;   // Guarded by slots_mu_.
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
  // Open loop: each worker starts rate / thread_count calls per second, the workers' schedules
  // interleaved so that the calls of all of them are evenly spaced.
  SteadyClock::duration spacing = SteadyClock::duration::zero();
  if (options.rate > 0) {
    spacing = std::chrono::duration_cast<SteadyClock::duration>(
        std::chrono::duration<double>(1.0 / options.rate));
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < thread_count; ++i) {
    workers.push_back(std::make_unique<Worker>(options, requests, &next_request, window_start,
                                               window_end, begin + i * spacing,
                                               thread_count * spacing));
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
