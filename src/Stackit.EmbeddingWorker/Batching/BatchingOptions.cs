using System.ComponentModel.DataAnnotations;

namespace Stackit.EmbeddingWorker.Batching;

/// <summary>The <c>Batching</c> section: how inputs are packed into embeddings requests.</summary>
public sealed class BatchingOptions
{
    public const string SectionName = "Batching";

    [Range(1, 2_048)]
    public int MaxInputsPerRequest { get; set; } = 64;

    [Range(16, 1_000_000)]
    public int MaxTokensPerRequest { get; set; } = 16_384;

    /// <summary>How long a partly filled batch may wait for more inputs; a full batch never waits.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(50);
}
