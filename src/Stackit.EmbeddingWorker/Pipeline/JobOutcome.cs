using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>What became of one queue message.</summary>
internal sealed record JobOutcome(QueueLease Lease, string? DocumentId, OutcomeKind Kind, string? Reason);
