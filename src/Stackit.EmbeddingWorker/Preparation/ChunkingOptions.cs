using System.ComponentModel.DataAnnotations;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>The <c>Chunking</c> section: how long documents are cut into points.</summary>
public sealed class ChunkingOptions : IValidatableObject
{
    public const string SectionName = "Chunking";

    [Range(16, 32_768)]
    public int MaxChunkTokens { get; set; } = 512;

    [Range(0, 4_096)]
    public int OverlapTokens { get; set; } = 64;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (OverlapTokens * 2 > MaxChunkTokens)
        {
            yield return new ValidationResult("Chunking:OverlapTokens must be at most half of Chunking:MaxChunkTokens.");
        }
    }
}
