using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Intake;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>
/// Turns a job into its chunks, each with its token estimate and content hash, and fixes the job's chunk
/// count. A later generation (after the endpoint refused a chunk as too long) cuts at half the size per
/// generation, so re-chunking always makes progress even where the estimate was wrong.
/// </summary>
internal sealed class JobChunker(TextChunker chunker, ITokenEstimator estimator, ChunkingOptions chunking, EmbeddingsOptions embeddings)
{
    private const int SmallestChunkTokens = 8;

    public IReadOnlyList<DocumentChunk> Chunk(DocumentJob job)
    {
        var maxTokens = Math.Max(SmallestChunkTokens, chunking.MaxChunkTokens >> job.Generation);
        var texts = chunker.Chunk(job.Message.Text ?? "", maxTokens);
        if (texts.Count == 0)
        {
            return [];
        }
        job.Progress.Expect(texts.Count);
        var chunks = new DocumentChunk[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            chunks[i] = new DocumentChunk(job, i, texts.Count, texts[i], estimator.Estimate(texts[i]), ContentHash.Of(embeddings.Model, texts[i]));
        }
        return chunks;
    }
}
