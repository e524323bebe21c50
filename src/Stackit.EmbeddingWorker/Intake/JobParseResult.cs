using System.Diagnostics.CodeAnalysis;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>Either a job or the reason, readable by the team that sent it, why there is none.</summary>
internal readonly record struct JobParseResult(JobMessage? Job, string? Error)
{
    [MemberNotNullWhen(true, nameof(Job))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsValid => Job is not null;

    public static JobParseResult Valid(JobMessage job) => new(job, null);

    public static JobParseResult Invalid(string error) => new(null, error);
}
