using System.Diagnostics.CodeAnalysis;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>
/// A job; or a claim-check naming the blob that holds the job (<see cref="BlobUri"/>, with the id the message
/// gave, if any); or the reason, readable by the team that sent it, why there is neither.
/// </summary>
internal readonly record struct JobParseResult(JobMessage? Job, string? Error, string? BlobUri = null, string? ClaimedId = null)
{
    [MemberNotNullWhen(true, nameof(Job))]
    public bool IsValid => Job is not null;

    [MemberNotNullWhen(true, nameof(BlobUri))]
    public bool IsClaimCheck => BlobUri is not null;

    public static JobParseResult Valid(JobMessage job) => new(job, null);

    public static JobParseResult Invalid(string error) => new(null, error);

    public static JobParseResult ClaimCheck(string blobUri, string? id) => new(null, null, blobUri, id);
}
