// BERT-base (uncased, with the pooler) and GPT-2 small as HuggingFace transformers defines
// them (BertModel, GPT2Model; tensor names are their state-dict names). Every nn.Linear,
// Conv1D, nn.Embedding and nn.LayerNorm is a layer. The attention scores, their softmax and
// the weighted sum of values have no parameters: they are carried on the projection in front
// of them (BERT: the value projection; GPT-2: the fused c_attn). GPT-2's output layer is tied
// to the token embedding `wte`: its weights are counted once, under wte (whose gradient is
// complete only when backprop reaches the embedding), and its FLOPs are carried on ln_f.
// The loss is not counted: it is not part of the model.
#include <string>

#include "ps/workload/zoo/architectures.h"
#include "ps/workload/zoo/builder.h"

namespace gw::zoo {
namespace {

// Sequence lengths, which the FLOPs scale with (parameters do not):
// 128 for BERT: the length of 90 % of BERT's pre-training steps and of its GLUE fine-tuning.
constexpr uint64_t kBertSequence = 128;
// 1024 for GPT-2: its whole context (n_ctx), the length it is trained at.
constexpr uint64_t kGpt2Sequence = 1024;

// The base/small configuration both share (bert-base-uncased's and gpt2's config.json).
constexpr uint64_t kHiddenSize = 768;
constexpr uint64_t kLayers = 12;
constexpr uint64_t kHeads = 12;
constexpr uint64_t kFeedForward = 4 * kHiddenSize;  // intermediate_size 3072, GPT-2's n_inner
constexpr uint64_t kBertVocab = 30522;
constexpr uint64_t kBertPositions = 512;
constexpr uint64_t kBertTokenTypes = 2;
constexpr uint64_t kGpt2Vocab = 50257;
constexpr uint64_t kGpt2Positions = 1024;

// Self-attention after the projections, per sample: Q K^T and the weighted sum of values
// (2 x seq x seq x hidden FLOPs each, over all heads), and per score a scale, a mask and the
// softmax. Both models compute every score: GPT-2's causal mask is applied, not skipped.
void Attention(ModelBuilder& b, uint64_t seq) {
  const double scores = static_cast<double>(kHeads * seq * seq);
  const double products = 2.0 * 2.0 * static_cast<double>(seq * seq * kHiddenSize);
  b.Carry(products + scores * (2 + kSoftmaxFlops));
}

// A residual connection over `seq` positions.
void Residual(ModelBuilder& b, uint64_t seq) {
  b.Carry(kAddFlops * static_cast<double>(seq * kHiddenSize));
}

}  // namespace

ModelSpec BuildBertBase() {
  constexpr uint64_t seq = kBertSequence;
  ModelBuilder b("bert_base", "BERT-base uncased with pooler (HuggingFace BertModel), 128 tokens");
  b.Embedding("embeddings.word_embeddings", kBertVocab, kHiddenSize);
  b.Embedding("embeddings.position_embeddings", kBertPositions, kHiddenSize);
  b.Embedding("embeddings.token_type_embeddings", kBertTokenTypes, kHiddenSize);
  b.Carry(2 * kAddFlops * static_cast<double>(seq * kHiddenSize));  // the three embeddings summed
  b.LayerNorm("embeddings.LayerNorm", kHiddenSize, seq);
  for (uint64_t i = 0; i < kLayers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    b.Linear(p + "attention.self.query", kHiddenSize, kHiddenSize, seq, true);
    b.Linear(p + "attention.self.key", kHiddenSize, kHiddenSize, seq, true);
    b.Linear(p + "attention.self.value", kHiddenSize, kHiddenSize, seq, true);
    Attention(b, seq);
    b.Linear(p + "attention.output.dense", kHiddenSize, kHiddenSize, seq, true);
    Residual(b, seq);
    b.LayerNorm(p + "attention.output.LayerNorm", kHiddenSize, seq);
    b.Linear(p + "intermediate.dense", kHiddenSize, kFeedForward, seq, true);
    b.Carry(kGeluFlops * static_cast<double>(seq * kFeedForward));
    b.Linear(p + "output.dense", kFeedForward, kHiddenSize, seq, true);
    Residual(b, seq);
    b.LayerNorm(p + "output.LayerNorm", kHiddenSize, seq);
  }
  // The pooler reads the first token only.
  b.Linear("pooler.dense", kHiddenSize, kHiddenSize, 1, true);
  b.Carry(kTanhFlops * kHiddenSize);
  return b.Take();
}

ModelSpec BuildGpt2Small() {
  constexpr uint64_t seq = kGpt2Sequence;
  ModelBuilder b("gpt2_small",
                 "GPT-2 small (HuggingFace GPT2Model), output layer tied to wte, 1024 tokens");
  b.Embedding("wte", kGpt2Vocab, kHiddenSize);
  b.Embedding("wpe", kGpt2Positions, kHiddenSize);
  Residual(b, seq);  // token + position embeddings
  for (uint64_t i = 0; i < kLayers; ++i) {
    const std::string p = "h." + std::to_string(i) + ".";
    b.LayerNorm(p + "ln_1", kHiddenSize, seq);
    b.Linear(p + "attn.c_attn", kHiddenSize, 3 * kHiddenSize, seq, true);  // Q, K and V fused
    Attention(b, seq);
    b.Linear(p + "attn.c_proj", kHiddenSize, kHiddenSize, seq, true);
    Residual(b, seq);
    b.LayerNorm(p + "ln_2", kHiddenSize, seq);
    b.Linear(p + "mlp.c_fc", kHiddenSize, kFeedForward, seq, true);
    b.Carry(kGeluFlops * static_cast<double>(seq * kFeedForward));
    b.Linear(p + "mlp.c_proj", kFeedForward, kHiddenSize, seq, true);
    Residual(b, seq);
  }
  b.LayerNorm("ln_f", kHiddenSize, seq);
  b.Carry(2.0 * static_cast<double>(kHiddenSize * kGpt2Vocab * seq));  // the tied output layer
  return b.Take();
}

}  // namespace gw::zoo
