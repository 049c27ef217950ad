// Unit tests of the spec's output-size formulas, against hand-computed sizes.
#include "compiler/ir/ShapeInference.h"

#include <gtest/gtest.h>

using namespace nncc;

TEST(ShapeFormula, ConvSeedFormula) {
  // Out = (In - K + 2P)/S + 1
  EXPECT_EQ(convOutputSize(32, 5, 1, 0, 0, 1), 28);   // (32-5)/1+1
  EXPECT_EQ(convOutputSize(227, 11, 4, 0, 0, 1), 55); // AlexNet conv1
  EXPECT_EQ(convOutputSize(224, 7, 2, 3, 3, 1), 112); // ResNet stem
  EXPECT_EQ(convOutputSize(7, 3, 2, 1, 1, 1), 4);     // floor((7+2-3)/2)+1
  EXPECT_EQ(convOutputSize(10, 3, 1, 0, 0, 2), 6);    // dilation 2: effective 5
}

TEST(ShapeFormula, ConvTranspose) {
  EXPECT_EQ(convTransposeOutputSize(16, 2, 2, 0, 0, 1, 0), 32);
  EXPECT_EQ(convTransposeOutputSize(16, 3, 2, 1, 1, 1, 1), 32);
  EXPECT_EQ(convTransposeOutputSize(5, 3, 1, 0, 0, 1, 0), 7);
}

TEST(ShapeFormula, PoolCeilMode) {
  EXPECT_EQ(poolOutputSize(5, 2, 2, 0, 0, false), 2);
  EXPECT_EQ(poolOutputSize(5, 2, 2, 0, 0, true), 3);
  // PyTorch: MaxPool2d(2, stride=2, padding=1, ceil_mode=True) on 4 -> 3, not 4:
  // the 4th window would start at 6 >= 4 + 1.
  EXPECT_EQ(poolOutputSize(4, 2, 2, 1, 1, true), 3);
  EXPECT_EQ(poolOutputSize(112, 3, 2, 1, 1, false), 56);
}

TEST(ShapeFormula, SamePadding) {
  int64_t b, e;
  samePadding(224, 7, 2, 1, b, e);  // out 112, total (111*2+7-224)=5
  EXPECT_EQ(b, 2);
  EXPECT_EQ(e, 3);
  samePadding(32, 3, 1, 1, b, e);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(e, 1);
  samePadding(5, 1, 2, 1, b, e);
  EXPECT_EQ(b + e, 0);
}
