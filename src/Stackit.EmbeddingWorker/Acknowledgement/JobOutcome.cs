using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Leasing;

namespace Stackit.EmbeddingWorker.Acknowledgement;

internal enum OutcomeKind
{
    /// <summary>Every chunk is durably stored: delete the message.</summary>
    Stored,

    /// <summary>The job can never succeed as sent: poison it now.</summary>
    Rejected,

    /// <summary>Something outside the job failed: try again later, poison after the last attempt.</summary>
    Failed,
}

/// <summary>What became of one queue message.</summary>
internal sealed record JobOutcome(QueueLease Lease, string? DocumentId, OutcomeKind Kind, string? Reason);
