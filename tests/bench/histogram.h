// Histogram records non-negative integer values (here: latencies in nanoseconds) in log-linear
// buckets, as HdrHistogram does: 64 linear sub-buckets per power of two, so a reported
// percentile is within 1/128 (0.8%) of the recorded value, at a fixed 30 KB of memory and a
// constant-time Record(). Thread-compatible: give each thread its own and Merge() at the end.
#ifndef TOKEND_TESTS_BENCH_HISTOGRAM_H_
#define TOKEND_TESTS_BENCH_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace tokend::bench {

class Histogram {
 public:
  Histogram() { counts_.fill(0); }

  // Adds one value. Negative values are recorded as 0.
  void Record(int64_t value);

  // Adds every value recorded in `other`.
  void Merge(const Histogram& other);

  // The value at percentile `p` (0 < p <= 100): the smallest recorded value such that at least
  // p% of the values are at most it, to within the bucket precision, and clamped to
  // [min(), max()]; p = 100 gives max() exactly. Returns 0 when nothing was recorded.
  int64_t ValueAtPercentile(double p) const;

  int64_t count() const { return count_; }
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  // The exact mean of the recorded values; 0 when nothing was recorded.
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }

  // Bucket arithmetic, exposed for tests. Values below 128 have a bucket each; above, bucket
  // widths double with every power of two.
  static int BucketOf(int64_t value);
  static int64_t BucketLow(int bucket);   // The smallest value in `bucket`.
  static int64_t BucketHigh(int bucket);  // The largest value in `bucket`.

 private:
  static constexpr int kSubBucketBits = 7;  // 128 values below the first doubling.
  static constexpr int kHalf = 1 << (kSubBucketBits - 1);
  // Enough buckets for every non-negative int64_t.
  static constexpr int kBuckets = (1 << kSubBucketBits) + (63 - kSubBucketBits) * kHalf;

  std::array<int64_t, kBuckets> counts_;
  int64_t count_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  int64_t sum_ = 0;  // Nanoseconds: overflows only after ~292 years of summed latency.
};

}  // namespace tokend::bench

#endif  // TOKEND_TESTS_BENCH_HISTOGRAM_H_
