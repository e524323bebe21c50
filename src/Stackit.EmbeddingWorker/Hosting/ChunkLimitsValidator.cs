using Microsoft.Extensions.Options;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Preparation;

namespace Stackit.EmbeddingWorker.Hosting;

/// <summary>A chunk must fit both the model's context and one request.</summary>
internal sealed class ChunkLimitsValidator(IOptions<EmbeddingsOptions> embeddings, IOptions<BatchingOptions> batching) : IValidateOptions<ChunkingOptions>
{
    public ValidateOptionsResult Validate(string? name, ChunkingOptions options)
    {
        var failures = new List<string>();
        if (options.MaxChunkTokens > embeddings.Value.MaxInputTokens)
        {
            failures.Add($"Chunking:MaxChunkTokens ({options.MaxChunkTokens}) must not exceed Embeddings:MaxInputTokens ({embeddings.Value.MaxInputTokens}).");
        }
        if (options.MaxChunkTokens > batching.Value.MaxTokensPerRequest)
        {
            failures.Add($"Chunking:MaxChunkTokens ({options.MaxChunkTokens}) must not exceed Batching:MaxTokensPerRequest ({batching.Value.MaxTokensPerRequest}).");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
