using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Tokens;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>
/// Turns a job into its chunks, each with its token estimate and content hash, and fixes the job's chunk
/// count. A later generation (after the endpoint refused a chunk as too long) cuts at half the size per
/// generation, so re-chunking always makes progress even where the estimate was wrong.
/// </summary>
internal sealed class JobChunker(TextChunker chunker, ITokenEstimator estimator, ChunkingOptions chunking, EmbeddingModels models)
{
    private const int SmallestChunkTokens = 8;

    /// <summary>
    /// What one image is assumed to cost for batching and the rate budget (vision models spend hundreds to about a
    /// thousand tokens per image at their default resolution); the server's count is what is billed.
    /// </summary>
    internal const int ImageTokenEstimate = 1_024;

    /// <summary>Why a job with images cannot be embedded here, or null (also for a job without images).</summary>
    public string? RefuseMultimodal(DocumentJob job)
    {
        if (job.Message.Images.Count == 0)
        {
            return null;
        }
        if (string.IsNullOrWhiteSpace(models.Multimodal))
        {
            return "the job has images, but this worker has no Embeddings:MultimodalModel configured.";
        }
        var tokens = estimator.Estimate(job.Message.Text ?? "");
        return tokens > chunking.MaxChunkTokens
            ? $"the text of a job with images is embedded with them as one input and must fit Chunking:MaxChunkTokens ({chunking.MaxChunkTokens}); it is about {tokens} tokens."
            : null;
    }

    /// <summary>
    /// The job's chunks, embedded with <paramref name="embedding"/> (the model of the collection the job writes), or the
    /// configured text model for a collection without a record; a job with images always with the multimodal model.
    /// </summary>
    public IReadOnlyList<DocumentChunk> Chunk(DocumentJob job, CollectionEmbedding? embedding = null)
    {
        if (job.Message.Images is { Count: > 0 } images)
        {
            // Text and images are one input, embedded together: one point per job (a copy's text is its stored one).
            var text = job.Message.Text ?? job.Copy?.Chunks?.FirstOrDefault() ?? "";
            job.Progress.Expect(1);
            return [new DocumentChunk(job, 0, 1, text, estimator.Estimate(text) + (ImageTokenEstimate * images.Count), models.Multimodal!, ContentHash.Of(models.Multimodal!, text, images), models.MultimodalDimensions)];
        }

        var maxTokens = Math.Max(SmallestChunkTokens, chunking.MaxChunkTokens >> job.Generation);
        // A backfill copy embeds the stored chunks as they are; cut again only if the model refused one as too long.
        var texts = job.Copy?.Chunks is { } stored
            ? job.Generation == 0 ? stored : chunker.Chunk(string.Join("\n\n", stored), maxTokens)
            : chunker.Chunk(job.Message.Text ?? "", maxTokens);
        if (texts.Count == 0)
        {
            return [];
        }
        job.Progress.Expect(texts.Count);
        var (model, dimensions) = embedding is { } recorded ? (recorded.Model, recorded.Dimensions) : (models.Text, models.TextDimensions);
        var chunks = new DocumentChunk[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            chunks[i] = new DocumentChunk(job, i, texts.Count, texts[i], estimator.Estimate(texts[i]), model, ContentHash.Of(model, texts[i]), dimensions);
        }
        return chunks;
    }
}
