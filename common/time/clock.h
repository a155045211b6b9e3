// An injectable source of the current time, so that date validation and
// audit timestamps are deterministic in tests.
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace trelink {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide wall clock.
  static const Clock& System();
};

// A clock that reads the time it was given, moved on only by Advance. For
// tests: not thread-safe.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }
  void Advance(absl::Duration by) { now_ += by; }

 private:
  absl::Time now_;
};

}  // namespace trelink
