// Internal interface of the training kernels: losses (Losses.cpp), the
// optimizer updates (Optimizers.cpp), and the driver that turns a step of the
// backward program into a kernel (TrainKernels.cpp).
#pragma once
#include "compiler/lower/Gradients.h"

namespace nncc {
namespace lower {

struct LossFuncs {
  Halide::Func cost;     // cost(0): the loss averaged as the format says
  Halide::Func doutput;  // d(cost)/d(output), batched, the output's shape
  Halide::Func correct;  // correct(0): correct predictions in the batch
};
LossFuncs lowerLoss(LossKind kind, const LValue &y, const LValue &target, Halide::Expr batch, Namer &namer,
                    const LowerOptions &opts);
// cost(0) = l2/2 * sum w^2 + l1 * sum |w| over a flat weight of numel floats.
Halide::Func lowerRegularizationCost(const Halide::ImageParam &w, int64_t numel, double l1, double l2, Namer &namer);

// The scalar arguments of every update kernel.
struct UpdateScalars {
  Halide::Param<float> lr{"lr"}, bc1{"bias_correction1"}, bc2{"bias_correction2"};
};
// Optimizer state tensors per trainable parameter, by torch.optim's names, in
// the order the update kernel takes them.
std::vector<std::string> optimizerStateNames(const std::string &optimizer, const std::map<std::string, double> &args);
int optimizerStates(const std::string &optimizer, const std::map<std::string, double> &args);
// The new parameter (and states) as one Func over `at`: a Tuple when there
// are states; `p`, `g` and `states` are their values at `at`.
Halide::Func lowerOptimizerUpdate(const TrainingConfig &t, const std::vector<Halide::Var> &at, const Halide::Expr &p,
                                  const Halide::Expr &g, const std::vector<Halide::Expr> &states,
                                  const UpdateScalars &sc, Namer &namer);
// The same over flat buffers of the parameter, its gradient and its states.
Halide::Func lowerOptimizerUpdate(const TrainingConfig &t, const Halide::ImageParam &p, const Halide::ImageParam &g,
                                  const std::vector<Halide::ImageParam> &states, const UpdateScalars &sc,
                                  Namer &namer);

}  // namespace lower
}  // namespace nncc
