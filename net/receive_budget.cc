#include "net/receive_budget.h"

#include <utility>

namespace gw {

ReceiveCredit::ReceiveCredit(ReceiveCredit&& other) noexcept
    : budget_(std::move(other.budget_)), bytes_(std::exchange(other.bytes_, 0)) {}

ReceiveCredit& ReceiveCredit::operator=(ReceiveCredit&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::move(other.budget_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

ReceiveCredit::~ReceiveCredit() { Release(); }

void ReceiveCredit::Release() {
  if (budget_) budget_->Release(bytes_);
  budget_.reset();
  bytes_ = 0;
}

std::shared_ptr<ReceiveBudget> ReceiveBudget::Create(std::function<void()> on_resume) {
  return std::shared_ptr<ReceiveBudget>(new ReceiveBudget(std::move(on_resume)));
}

ReceiveCredit ReceiveBudget::Charge(size_t bytes) {
  held_.fetch_add(bytes);
  return ReceiveCredit(shared_from_this(), bytes);
}

bool ReceiveBudget::PauseIfOver() {
  if (held_.load() <= kMaxHeldBytes) return false;
  paused_.store(true);
  // A release between the look above and the store saw no pause and resumed nobody: look
  // again, and take the pause back if the bytes are already down.
  return !(held_.load() <= kResumeBytes && paused_.exchange(false));
}

void ReceiveBudget::Release(size_t bytes) {
  const size_t after = held_.fetch_sub(bytes) - bytes;
  if (after <= kResumeBytes && paused_.load() && paused_.exchange(false)) Resume();
}

void ReceiveBudget::Resume() {
  std::lock_guard<std::mutex> lock(mu_);
  if (on_resume_) on_resume_();
}

void ReceiveBudget::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  on_resume_ = nullptr;
}

}  // namespace gw
