// `gradwire model`: what the straggler model predicts for a coded job's round time, beside
// which the running system's measurements are put (experiments/coding.sh). One CSV row per
// scheme: the closed form where the papers have one, a Monte Carlo of the model, and the model
// on the very draws a job of the given length will use (rounds 1..R-1: round 0 includes
// start-up and is left out of measurements).
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "base/error.h"
#include "coding/expected_time.h"
#include "coding/scheme.h"

namespace gw::cli {
namespace {

using coding::CodingKind;
using coding::CodingSpec;

// "mds" alone means every k, "gc-cr" every s, and so on; otherwise the one scheme.
std::vector<CodingSpec> Expand(const std::string& text, int n) {
  if (text.find(':') != std::string::npos || text == "uncoded") {
    CodingSpec spec = CodingSpec::Parse(text);
    spec.Validate(n);
    return {spec};
  }
  const auto kind = CodingSpec::KindNamed(text);
  if (!kind) return {CodingSpec::Parse(text)};  // throws, naming the valid forms
  std::vector<CodingSpec> out;
  for (int p = 0; p <= n; ++p) {
    CodingSpec spec{*kind, p};
    try {
      spec.Validate(n);
    } catch (const Error&) {
      continue;
    }
    out.push_back(spec);
  }
  return out;
}

// E[round time] in seconds under shifted-exp(μ) with base b (1/n of the job), where a closed
// form exists (coding/expected_time.h; gc: the (n−s)-th order statistic); NaN otherwise.
double ClosedForm(const CodingSpec& spec, int n, const coding::StragglerModel& model) {
  if (model.kind() != coding::StragglerKind::kShiftedExp) return NAN;
  const double unit = n * model.base_time();  // the whole job
  const double mu = model.mu();
  switch (spec.kind) {
    case CodingKind::kUncoded:
      return unit * coding::ExpectedTimeUncoded(n, mu);
    case CodingKind::kReplication:
      return unit * coding::ExpectedTimeReplication(n, n / spec.param, mu);
    case CodingKind::kMds:
      return unit * coding::ExpectedTimeMds(n, spec.param, mu);
    case CodingKind::kGcFractional:
    case CodingKind::kGcCyclic: {
      const int s = spec.param;
      return unit * (s + 1.0) / n *
             (1 + (coding::HarmonicNumber(n) - coding::HarmonicNumber(s)) / mu);
    }
    case CodingKind::kMultiMessage:
      return NAN;
  }
  return NAN;
}

// A cell of the table: empty where the value was not computed.
std::string Cell(double v) {
  if (std::isnan(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

constexpr const char* kModelSynopsis =
    "--num-workers N --straggler MODEL [--coding LIST]\n\n"
    "Prints the expected time of one coded round under the straggler model, one CSV row per\n"
    "scheme: scheme, workers; closed_form_s, the papers' closed form (shifted-exp only, and\n"
    "not for mm: empty where there is none); monte_carlo_s and monte_carlo_se_s, the mean of\n"
    "--trials simulated rounds and its standard error; same_draws_s, the model on the very\n"
    "draws rounds 1..R-1 of a job with --rounds R will use (empty without --rounds).";

}  // namespace

int ModelCommand(const std::vector<std::string>& args) {
  po::options_description d("Model");
  d.add_options()("num-workers", po::value<int>(), "workers n")(
      "straggler", po::value<std::string>(), "the straggler model, as for run")(
      "coding", po::value<std::string>()->default_value("uncoded,replication,mds,gc-cr,mm"),
      "comma-separated schemes; a kind alone (mds, gc-cr, gc-fr, mm, replication) means "
      "every admissible parameter")("trials", po::value<int>()->default_value(20000),
                                    "Monte Carlo rounds")(
      "rounds", po::value<int>()->default_value(0),
      "also the model on the draws of rounds 1..R-1, as a job of R rounds uses them")(
      "seed", po::value<uint64_t>()->default_value(1), "the job's --seed (the model's default)");
  const auto vm = Parse("model", kModelSynopsis, d, args);
  if (!vm) return 0;
  if (!vm->count("num-workers") || !vm->count("straggler")) {
    throw UsageError("--num-workers and --straggler are required");
  }
  const int n = (*vm)["num-workers"].as<int>();
  const int trials = (*vm)["trials"].as<int>();
  const int rounds = (*vm)["rounds"].as<int>();
  if (n < 1 || trials < 1 || rounds < 0) {
    throw UsageError("--num-workers and --trials must be positive, --rounds non-negative");
  }
  coding::StragglerModel model;
  std::vector<CodingSpec> specs;
  try {
    model = coding::StragglerModel::Parse((*vm)["straggler"].as<std::string>(),
                                          (*vm)["seed"].as<uint64_t>());
    std::istringstream list((*vm)["coding"].as<std::string>());
    std::string item;
    while (std::getline(list, item, ',')) {
      for (const auto& s : Expand(item, n)) specs.push_back(s);
    }
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  std::printf("scheme,workers,closed_form_s,monte_carlo_s,monte_carlo_se_s,same_draws_s\n");
  for (const auto& spec : specs) {
    // Draws far from any job's rounds, so the Monte Carlo is independent of them.
    const auto mc = coding::MonteCarloRoundTime(spec, n, model, trials, uint64_t{1} << 40);
    const double same =
        rounds > 1 ? coding::MonteCarloRoundTime(spec, n, model, rounds - 1, 1).mean : NAN;
    std::printf("%s,%d,%s,%s,%s,%s\n", spec.ToString().c_str(), n,
                Cell(ClosedForm(spec, n, model)).c_str(), Cell(mc.mean).c_str(),
                Cell(mc.std_error).c_str(), Cell(same).c_str());
  }
  return 0;
}

}  // namespace gw::cli
