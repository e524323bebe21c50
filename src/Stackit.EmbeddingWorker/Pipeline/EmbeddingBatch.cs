namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>The inputs of one embeddings request.</summary>
internal sealed record EmbeddingBatch(IReadOnlyList<DocumentChunk> Chunks);
