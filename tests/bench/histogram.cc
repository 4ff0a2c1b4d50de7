#include "tests/bench/histogram.h"

#include <algorithm>
#include <cmath>

namespace tokend::bench {

int Histogram::BucketOf(int64_t value) {
  if (value < (1 << kSubBucketBits)) return static_cast<int>(value);
  const auto v = static_cast<uint64_t>(value);
  const int bits = 64 - __builtin_clzll(v);  // value >= 128, so bits >= 8.
  const int shift = bits - kSubBucketBits;   // >= 1; leaves v >> shift in [64, 128).
  const int sub = static_cast<int>(v >> shift) - kHalf;
  return (1 << kSubBucketBits) + (shift - 1) * kHalf + sub;
}

int64_t Histogram::BucketLow(int bucket) {
  if (bucket < (1 << kSubBucketBits)) return bucket;
  const int k = bucket - (1 << kSubBucketBits);
  const int shift = k / kHalf + 1;
  const uint64_t mantissa = static_cast<uint64_t>(kHalf + k % kHalf);
  return static_cast<int64_t>(mantissa << shift);
}

int64_t Histogram::BucketHigh(int bucket) {
  if (bucket < (1 << kSubBucketBits)) return bucket;
  const int k = bucket - (1 << kSubBucketBits);
  const int shift = k / kHalf + 1;
  return BucketLow(bucket) + static_cast<int64_t>((uint64_t{1} << shift) - 1);
}

void Histogram::Record(int64_t value) {
  value = std::max<int64_t>(value, 0);
  ++counts_[BucketOf(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

int64_t Histogram::ValueAtPercentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  const auto rank = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))));
  if (rank >= count_) return max_;
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The middle of the bucket halves the worst-case error of either end.
      const int64_t mid = BucketLow(i) + (BucketHigh(i) - BucketLow(i)) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace tokend::bench
