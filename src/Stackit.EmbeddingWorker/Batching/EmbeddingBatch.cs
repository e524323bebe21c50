using Stackit.EmbeddingWorker.Preparation;

namespace Stackit.EmbeddingWorker.Batching;

/// <summary>The inputs of one embeddings request.</summary>
internal sealed record EmbeddingBatch(IReadOnlyList<DocumentChunk> Chunks, int EstimatedTokens);
