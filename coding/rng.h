// Seeded random draws shared by coding/. Every draw goes through std::mt19937_64 (whose output
// sequence the standard fixes) and our own transforms, not std::*_distribution (whose output
// is implementation-defined), so a seed gives the same numbers with any standard library.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <random>

namespace gw::coding {

// Mixes a seed with further integers (worker, iteration, ...) into one well-spread 64-bit
// value (SplitMix64 finaliser over each word). Use it to derive independent streams.
uint64_t MixSeed(uint64_t seed, std::initializer_list<uint64_t> words);

// Uniform in (0, 1]: never 0, so log() of it is finite.
double Uniform01(std::mt19937_64& rng);
// Exponential with rate `rate` (> 0): mean 1/rate.
double Exponential(std::mt19937_64& rng, double rate);
// Standard normal (Box-Muller, one value per call).
double StandardNormal(std::mt19937_64& rng);

}  // namespace gw::coding
