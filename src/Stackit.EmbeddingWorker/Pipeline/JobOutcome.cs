using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>What became of one queue message; what its work held is given back with its lease's ticket.</summary>
internal sealed record JobOutcome(QueueLease Lease, string? DocumentId, OutcomeKind Kind, string? Reason);
