#include "coding/rng.h"

#include <cmath>
#include <numbers>

namespace gw::coding {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t MixSeed(uint64_t seed, std::initializer_list<uint64_t> words) {
  uint64_t h = SplitMix64(seed);
  for (uint64_t w : words) h = SplitMix64(h ^ SplitMix64(w + 0x632be59bd9b4e019ULL));
  return h;
}

double Uniform01(std::mt19937_64& rng) {
  // 53 random bits -> {1, ..., 2^53} / 2^53.
  return static_cast<double>((rng() >> 11) + 1) * 0x1.0p-53;
}

double Exponential(std::mt19937_64& rng, double rate) { return -std::log(Uniform01(rng)) / rate; }

double StandardNormal(std::mt19937_64& rng) {
  const double u1 = Uniform01(rng);
  const double u2 = Uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace gw::coding
