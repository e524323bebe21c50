namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>The inputs of one embeddings request.</summary>
internal sealed record EmbeddingBatch(IReadOnlyList<DocumentChunk> Chunks)
{
    /// <summary>The batch's estimated tokens: what the batcher weighed it by, and what the rate budget is charged.</summary>
    public int EstimatedTokens => Chunks.Sum(c => c.Tokens);
}
