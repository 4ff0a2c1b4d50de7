// WatchTokenReactor: one WatchToken stream. It writes the token now and after every renewal,
// one write in flight at a time (a renewal arriving meanwhile replaces the pending one), and
// ends when the client leaves, the token can no longer be had, or End() is called at shutdown.
//
// Thread-safety: token callbacks arrive on TokenCache threads, reactions on gRPC threads. All
// state is behind one mutex in a shared block that callbacks hold by shared_ptr, and gRPC
// operations are started outside that mutex. Finish is called at most once, and never while a
// write is in flight, so the reactor outlives every operation it starts. Deleted in OnDone.
#ifndef TOKEND_SERVICE_SERVER_WATCH_TOKEN_REACTOR_H_
#define TOKEND_SERVICE_SERVER_WATCH_TOKEN_REACTOR_H_

#include <grpcpp/support/server_callback.h>

#include <functional>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/core/token_cache.h"
#include "tokend/v1/tokend.pb.h"

namespace tokend {

class WatchTokenReactor final : public grpc::ServerWriteReactor<v1::GetTokenResponse> {
 public:
  // Turns a cache result into the response written to the client.
  using Render = std::function<v1::GetTokenResponse(const CachedToken&)>;

  // Starts watching `request` in `cache` (which must outlive the stream). `on_done` runs when
  // the stream is over (the service forgets the reactor then).
  static WatchTokenReactor* Start(TokenCache& cache, const TokenRequest& request, Render render,
                                  std::function<void(WatchTokenReactor*)> on_done);

  // Returns a function that ends the stream with OK (shutdown). The function may be called
  // from any thread, any number of times, even after the reactor is gone.
  std::function<void()> Ender() const;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Shared {
    absl::Mutex mu;
    WatchTokenReactor* reactor ABSL_GUARDED_BY(mu);  // Valid until Finish is decided.
    v1::GetTokenResponse current;                    // The message being written.
    bool finished ABSL_GUARDED_BY(mu) = false;       // Finish called or decided.
    bool writing ABSL_GUARDED_BY(mu) = false;        // A write is in flight.
    std::optional<v1::GetTokenResponse> pending ABSL_GUARDED_BY(mu);  // Next to write.
    std::optional<grpc::Status> finish_after_write ABSL_GUARDED_BY(mu);
  };

  WatchTokenReactor(TokenCache& cache, std::function<void(WatchTokenReactor*)> on_done);
  // Decides, under the lock, the next gRPC operation (queue `next`, end with `finish`) and
  // starts it after unlocking. The reactor is alive while a write is in flight or until its
  // Finish has been called, and Pump touches it only then.
  static void Pump(const std::shared_ptr<Shared>& shared, std::optional<v1::GetTokenResponse> next,
                   std::optional<grpc::Status> finish);

  TokenCache& cache_;
  const std::function<void(WatchTokenReactor*)> on_done_;
  const std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  uint64_t watch_id_ = 0;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_SERVER_WATCH_TOKEN_REACTOR_H_
