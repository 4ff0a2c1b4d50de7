#include "tests/bench/histogram.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace tokend::bench {
namespace {

TEST(HistogramTest, EmptyReportsZero) {
  Histogram histogram;
  EXPECT_EQ(histogram.count(), 0);
  EXPECT_EQ(histogram.ValueAtPercentile(50), 0);
  EXPECT_EQ(histogram.min(), 0);
  EXPECT_EQ(histogram.max(), 0);
}

TEST(HistogramTest, BucketsTileTheValuesWithoutGaps) {
  for (int bucket = 0; bucket < 2000; ++bucket) {
    EXPECT_EQ(Histogram::BucketOf(Histogram::BucketLow(bucket)), bucket);
    EXPECT_EQ(Histogram::BucketOf(Histogram::BucketHigh(bucket)), bucket);
    EXPECT_EQ(Histogram::BucketLow(bucket + 1), Histogram::BucketHigh(bucket) + 1);
  }
}

TEST(HistogramTest, LargestValueHasABucket) {
  Histogram histogram;
  histogram.Record(INT64_MAX);
  EXPECT_EQ(histogram.ValueAtPercentile(100), INT64_MAX);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram histogram;
  for (int v = 1; v <= 100; ++v) histogram.Record(v);
  EXPECT_EQ(histogram.ValueAtPercentile(50), 50);
  EXPECT_EQ(histogram.ValueAtPercentile(99), 99);
  EXPECT_EQ(histogram.ValueAtPercentile(100), 100);
  EXPECT_EQ(histogram.min(), 1);
  EXPECT_DOUBLE_EQ(histogram.mean(), 50.5);
}

TEST(HistogramTest, PercentilesWithinOnePercentOfExact) {
  Histogram histogram;
  // 1 us .. 100 ms in nanoseconds: value i * 1000 for i in 1..100000.
  for (int64_t i = 1; i <= 100000; ++i) histogram.Record(i * 1000);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double exact = p / 100 * 100000 * 1000;
    EXPECT_NEAR(static_cast<double>(histogram.ValueAtPercentile(p)), exact, exact * 0.01) << p;
  }
  EXPECT_EQ(histogram.ValueAtPercentile(100), 100000 * 1000);
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  Histogram a;
  Histogram b;
  Histogram both;
  for (int64_t v = 0; v < 5000; ++v) {
    (v % 3 == 0 ? a : b).Record(v * 37);
    both.Record(v * 37);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.min(), both.min());
  EXPECT_EQ(a.max(), both.max());
  for (double p : {1.0, 50.0, 99.0, 99.99}) {
    EXPECT_EQ(a.ValueAtPercentile(p), both.ValueAtPercentile(p));
  }
}

TEST(HistogramTest, NegativeValuesCountAsZero) {
  Histogram histogram;
  histogram.Record(-5);
  EXPECT_EQ(histogram.count(), 1);
  EXPECT_EQ(histogram.max(), 0);
}

}  // namespace
}  // namespace tokend::bench
