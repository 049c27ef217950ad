// The `training` section (model-format.md, "Training").
#include "frontend/TrainingParser.h"

#include <algorithm>

namespace nncc {
namespace {

struct ArgSpec {
  const char *name;
  double dflt;
  double min, max;
  bool minExclusive, maxExclusive;
  bool required;
  bool isBool;
  bool isInt;
};

constexpr double kInf = 1e300;

ArgSpec num(const char *n, double d, double min = 0, double max = kInf, bool minEx = false, bool maxEx = false) {
  return {n, d, min, max, minEx, maxEx, false, false, false};
}
ArgSpec required(ArgSpec s) {
  s.required = true;
  return s;
}
ArgSpec boolean(const char *n) { return {n, 0, 0, 1, false, false, false, true, false}; }
ArgSpec integer(const char *n, double min) { return {n, 0, min, kInf, false, false, true, false, true}; }

// Optimizers and schedules with their arguments and torch.optim's defaults.
const std::vector<std::pair<std::string, std::vector<ArgSpec>>> &optimizers() {
  static const std::vector<std::pair<std::string, std::vector<ArgSpec>>> t = {
      {"sgd", {num("learning_rate", 0.01, 0, kInf, true), num("momentum", 0, 0, 1), boolean("nesterov")}},
      {"adagrad", {num("learning_rate", 0.01, 0, kInf, true), num("epsilon", 1e-10)}},
      {"adadelta", {num("learning_rate", 1.0, 0, kInf, true), num("rho", 0.9, 0, 1), num("epsilon", 1e-6)}},
      {"rmsprop", {num("learning_rate", 0.01, 0, kInf, true), num("alpha", 0.99, 0, 1), num("epsilon", 1e-8)}},
      {"adam",
       {num("learning_rate", 0.001, 0, kInf, true), num("beta1", 0.9, 0, 1, false, true),
        num("beta2", 0.999, 0, 1, false, true), num("epsilon", 1e-8)}},
  };
  return t;
}

const std::vector<std::pair<std::string, std::vector<ArgSpec>>> &schedules() {
  static const std::vector<std::pair<std::string, std::vector<ArgSpec>>> t = {
      {"constant", {}},
      {"step", {required(integer("step_size", 1)), num("gamma", 0.1, 0, kInf, true)}},
      {"exponential", {required(num("gamma", 0, 0, kInf, true))}},
      {"cosine", {required(integer("total_steps", 1)), num("min_lr", 0)}},
  };
  return t;
}

std::string names(const std::vector<std::pair<std::string, std::vector<ArgSpec>>> &t) {
  std::string s;
  for (const auto &e : t) s += (s.empty() ? "" : ", ") + e.first;
  return s;
}

// {"type": T, args...} against a table; fills `type` and `args`.
bool parseTyped(const json &j, const Location &loc, const char *what,
                const std::vector<std::pair<std::string, std::vector<ArgSpec>>> &table, std::string &type,
                std::map<std::string, double> &args, Diagnostics &d) {
  ObjectReader r(j, loc, d, std::string("the ") + what);
  if (!r.isObject()) return false;
  auto t = r.getString("type", true);
  if (!t) {
    r.finish();
    return false;
  }
  auto it = std::find_if(table.begin(), table.end(), [&](const auto &e) { return e.first == *t; });
  if (it == table.end()) {
    d.error(r.at("type"), "unknown " + std::string(what) + " '" + *t + "' (expected one of: " + names(table) + ")");
    return false;
  }
  type = *t;
  bool ok = true;
  for (const ArgSpec &a : it->second) {
    std::optional<double> v;
    if (a.isBool) {
      if (auto b = r.getBool(a.name, a.required)) v = *b ? 1.0 : 0.0;
    } else if (a.isInt) {
      if (auto i = r.getInt(a.name, a.required, static_cast<int64_t>(a.min), INT64_MAX)) v = static_cast<double>(*i);
    } else {
      v = r.getNumber(a.name, a.required, a.min, a.max, a.minExclusive, a.maxExclusive);
    }
    if (!v && (r.has(a.name) || a.required)) ok = false;
    args[a.name] = v.value_or(a.dflt);
  }
  size_t before = d.errorCount();
  r.finish();
  return ok && before == d.errorCount();
}

std::optional<Loss> parseLoss(const json &j, const Location &loc, const Graph &g, Diagnostics &d) {
  ObjectReader r(j, loc, d, "a loss");
  if (!r.isObject()) return std::nullopt;
  auto type = r.getString("type", true);
  auto output = r.getString("output", false);
  bool outputBad = r.has("output") && !output;
  r.finish();
  if (!type || outputBad) return std::nullopt;
  Loss l;
  l.loc = loc;
  static const std::pair<const char *, LossKind> kinds[] = {
      {"softmax_cross_entropy", LossKind::SoftmaxCrossEntropy},
      {"cross_entropy", LossKind::CrossEntropy},
      {"binary_cross_entropy", LossKind::BinaryCrossEntropy},
      {"mse", LossKind::Mse}};
  bool found = false;
  for (const auto &k : kinds)
    if (*type == k.first) {
      l.kind = k.second;
      found = true;
    }
  if (!found) {
    d.error(loc.child("type"), "unknown loss '" + *type +
                                   "' (expected one of: softmax_cross_entropy, cross_entropy, binary_cross_entropy, mse)");
    return std::nullopt;
  }
  if (!output) {
    if (g.outputs.size() != 1) {
      d.error(loc, "the model has " + std::to_string(g.outputs.size()) + " outputs; say which one this loss is for with 'output'");
      return std::nullopt;
    }
    l.output = g.outputs[0];
    return l;
  }
  for (int o : g.outputs)
    if (g.value(o).name == *output) l.output = o;
  if (l.output < 0) {
    d.error(loc.child("output"), "loss output '" + *output + "' is not one of the model's outputs");
    return std::nullopt;
  }
  return l;
}

}  // namespace

std::optional<TrainingConfig> parseTraining(const json &j, const Location &loc, const Graph &g, Diagnostics &d) {
  size_t before = d.errorCount();
  TrainingConfig t;
  ObjectReader r(j, loc, d, "the training section");
  if (!r.isObject()) return std::nullopt;
  if (const json *loss = r.get("loss", true)) {
    if (loss->is_array()) {
      if (loss->empty()) d.error(r.at("loss"), "'loss' must not be an empty list");
      for (size_t i = 0; i < loss->size(); ++i)
        if (auto l = parseLoss((*loss)[i], r.at("loss").child(i), g, d)) t.losses.push_back(*l);
    } else if (auto l = parseLoss(*loss, r.at("loss"), g, d)) {
      t.losses.push_back(*l);
    }
  }
  if (const json *opt = r.get("optimizer")) {
    parseTyped(*opt, r.at("optimizer"), "optimizer", optimizers(), t.optimizer, t.optimizerArgs, d);
  } else {
    parseTyped(json{{"type", "sgd"}}, r.at("optimizer"), "optimizer", optimizers(), t.optimizer, t.optimizerArgs, d);
  }
  if (t.optimizer == "sgd" && t.optimizerArgs["nesterov"] != 0 && t.optimizerArgs["momentum"] <= 0)
    d.error(r.at("optimizer").child("nesterov"),
            "'nesterov' needs a 'momentum' greater than 0, found momentum " +
                std::to_string(static_cast<int>(t.optimizerArgs["momentum"])));
  if (const json *reg = r.get("regularization")) {
    ObjectReader rr(*reg, r.at("regularization"), d, "the regularization");
    t.l2 = rr.getNumber("l2", false, 0, kInf).value_or(0.0);
    t.l1 = rr.getNumber("l1", false, 0, kInf).value_or(0.0);
    rr.finish();
  }
  if (const json *s = r.get("schedule")) parseTyped(*s, r.at("schedule"), "schedule", schedules(), t.schedule, t.scheduleArgs, d);
  r.finish();
  if (d.errorCount() != before) return std::nullopt;
  return t;
}

}  // namespace nncc
