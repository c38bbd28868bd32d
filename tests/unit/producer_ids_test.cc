// The engine's producer sessions (broker::ProducerIds) over a real Store: new ids, epoch bumps,
// a retried bump, fencing, exhausted epochs, and what a restart forgets (epochs) and keeps (ids).
#include "server/broker/producer_ids.h"

#include <memory>

#include "gtest/gtest.h"
#include "storage/store.h"
#include "tests/unit/temp_dir.h"

namespace ferry::broker {
namespace {

using ferry::testing::TempDir;

class ProducerIdsTest : public ::testing::Test {
 protected:
  void Open() {
    ids_.reset();
    store_.reset();
    storage::StoreOptions options;
    options.data_dir = dir_.path() + "/db";
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ids_ = std::make_unique<ProducerIds>(store_.get());
  }

  TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<ProducerIds> ids_;
};

TEST_F(ProducerIdsTest, BumpsFencesAndSurvivesRestarts) {
  Open();
  auto a = ids_->Init(std::nullopt);
  auto b = ids_->Init(std::nullopt);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(a->epoch, 0);

  auto bumped = ids_->Init(ProducerIdentity{a->id, 0});
  ASSERT_TRUE(bumped.ok());
  EXPECT_EQ(bumped->id, a->id);
  EXPECT_EQ(bumped->epoch, 1);
  auto retried = ids_->Init(ProducerIdentity{a->id, 0});  // the bump's answer was lost
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->epoch, 1);
  ASSERT_EQ(ids_->Init(ProducerIdentity{a->id, 1})->epoch, 2);
  EXPECT_EQ(ids_->Init(ProducerIdentity{a->id, 0}).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ids_->Init(ProducerIdentity{a->id, -1}).status().code(),
            absl::StatusCode::kInvalidArgument);

  // An exhausted epoch or an id never given out: a fresh id.
  auto exhausted = ids_->Init(ProducerIdentity{b->id, INT16_MAX - 1});
  ASSERT_TRUE(exhausted.ok());
  EXPECT_NE(exhausted->id, b->id);
  EXPECT_EQ(exhausted->epoch, 0);
  auto foreign = ids_->Init(ProducerIdentity{1'000'000'000, 3});
  ASSERT_TRUE(foreign.ok());
  EXPECT_NE(foreign->id, 1'000'000'000);

  // After a restart: ids are never given again; a producer's own epoch is trusted.
  const int64_t highest = std::max({a->id, b->id, exhausted->id, foreign->id});
  Open();
  auto c = ids_->Init(std::nullopt);
  ASSERT_TRUE(c.ok());
  EXPECT_GT(c->id, highest);
  auto resumed = ids_->Init(ProducerIdentity{a->id, 2});
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->id, a->id);
  EXPECT_EQ(resumed->epoch, 3);
}

}  // namespace
}  // namespace ferry::broker
