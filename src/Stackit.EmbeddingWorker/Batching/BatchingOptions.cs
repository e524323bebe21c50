using System.ComponentModel.DataAnnotations;

namespace Stackit.EmbeddingWorker.Batching;

/// <summary>The <c>Batching</c> section: how inputs are packed into embeddings requests.</summary>
public sealed class BatchingOptions
{
    public const string SectionName = "Batching";

    [Range(1, 2_048, ErrorMessage = "Batching:MaxInputsPerRequest must be between 1 and 2048.")]
    public int MaxInputsPerRequest { get; set; } = 64;

    [Range(16, 1_000_000, ErrorMessage = "Batching:MaxTokensPerRequest must be between 16 and 1000000.")]
    public int MaxTokensPerRequest { get; set; } = 16_384;

    /// <summary>How long a partly filled batch may wait for more inputs; a full batch never waits.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Batching:MaxDelay must be between 00:00:00 and 00:01:00.")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(50);
}
