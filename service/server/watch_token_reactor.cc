#include "service/server/watch_token_reactor.h"

#include <utility>

#include "service/server/status_conversion.h"

namespace tokend {

WatchTokenReactor* WatchTokenReactor::Start(TokenCache& cache, const TokenRequest& request,
                                            Render render,
                                            std::function<void(WatchTokenReactor*)> on_done) {
  auto* reactor = new WatchTokenReactor(cache, std::move(on_done));
  // The callback holds the shared block, never the reactor itself.
  std::weak_ptr<Shared> weak = reactor->shared_;
  reactor->watch_id_ =
      cache.Watch(request, [weak, render = std::move(render)](absl::StatusOr<CachedToken> token) {
        std::shared_ptr<Shared> shared = weak.lock();
        if (shared == nullptr) return;
        if (token.ok()) {
          Pump(shared, render(*token), std::nullopt);
        } else {
          Pump(shared, std::nullopt, ToGrpcStatus(token.status()));
        }
      });
  return reactor;
}

WatchTokenReactor::WatchTokenReactor(TokenCache& cache,
                                     std::function<void(WatchTokenReactor*)> on_done)
    : cache_(cache), on_done_(std::move(on_done)) {
  absl::MutexLock lock(&shared_->mu);
  shared_->reactor = this;
}

std::function<void()> WatchTokenReactor::Ender() const {
  return [shared = shared_] { Pump(shared, std::nullopt, grpc::Status::OK); };
}

void WatchTokenReactor::OnCancel() { Pump(shared_, std::nullopt, grpc::Status::CANCELLED); }

void WatchTokenReactor::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->writing = false;
  }
  // A failed write means the client is gone.
  Pump(shared_, std::nullopt,
       ok ? std::nullopt : std::optional<grpc::Status>(grpc::Status::CANCELLED));
}

void WatchTokenReactor::Pump(const std::shared_ptr<Shared>& shared,
                             std::optional<v1::GetTokenResponse> next,
                             std::optional<grpc::Status> finish) {
  WatchTokenReactor* write_on = nullptr;
  WatchTokenReactor* finish_on = nullptr;
  std::optional<grpc::Status> status;
  {
    absl::MutexLock lock(&shared->mu);
    if (shared->finished) return;
    if (next.has_value() && !shared->finish_after_write.has_value()) {
      shared->pending = std::move(next);
    }
    if (finish.has_value() && !shared->finish_after_write.has_value()) {
      shared->finish_after_write = std::move(finish);
      shared->pending.reset();  // Ending: nothing more is written.
    }
    if (shared->writing) return;  // OnWriteDone pumps again.
    if (shared->pending.has_value()) {
      shared->current = *std::move(shared->pending);
      shared->pending.reset();
      shared->writing = true;
      write_on = shared->reactor;
    } else if (shared->finish_after_write.has_value()) {
      shared->finished = true;
      status = shared->finish_after_write;
      finish_on = shared->reactor;
    }
  }
  if (write_on != nullptr) write_on->StartWrite(&shared->current);
  if (finish_on != nullptr) finish_on->Finish(*status);
}

void WatchTokenReactor::OnDone() {
  cache_.Unwatch(watch_id_);
  on_done_(this);
  delete this;
}

}  // namespace tokend
