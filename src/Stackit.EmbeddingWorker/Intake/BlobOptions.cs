using System.ComponentModel.DataAnnotations;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>
/// The <c>Blobs</c> section: where jobs too large for a queue message are kept (claim-check). The worker reads
/// only blobs of this one container; a job naming any other address is rejected.
/// </summary>
public sealed class BlobOptions : IValidatableObject
{
    public const string SectionName = "Blobs";

    /// <summary>Storage connection string; when neither this nor <see cref="ServiceUri"/> is set, <c>Queue:ConnectionString</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Blob service URI for the <c>Azure:Credential</c> identity.</summary>
    public Uri? ServiceUri { get; set; }

    [Required(ErrorMessage = "Blobs:Container is required.")]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "Blobs:Container must be 3-63 lower-case letters, digits or single hyphens.")]
    public string Container { get; set; } = "embedding-jobs";

    /// <summary>Largest job blob read; bounds the memory one claimed job can take.</summary>
    [Range(64 * 1024, 256 * 1024 * 1024)]
    public int MaxBlobBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// The bytes of claimed job bodies a replica holds at once (a blob larger than this runs alone). Each byte of a
    /// body costs up to about seven times its size while the job is chunked and embedded (docs/operations.md: Memory).
    /// </summary>
    [Range(1024 * 1024, 4L * 1024 * 1024 * 1024)]
    public long MaxInFlightBytes { get; set; } = 32L * 1024 * 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ServiceUri is { IsAbsoluteUri: false })
        {
            yield return new ValidationResult("Blobs:ServiceUri must be an absolute URI.");
        }
    }
}
