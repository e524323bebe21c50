using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// What became of one queue message. <paramref name="HoldsSlot"/>: the message took one of Intake's in-flight
/// slots (a live message does; a backfill page does not).
/// </summary>
internal sealed record JobOutcome(QueueLease Lease, string? DocumentId, OutcomeKind Kind, string? Reason, bool HoldsSlot = true);
