namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// What <see cref="PoisonEnvelope.Read"/> finds in a poison-queue message: the original as first sent, and why
/// it was poisoned, when the envelope says so.
/// </summary>
internal sealed record PoisonedMessage(BinaryData Original, string? Error, string? DocumentId, long? DequeueCount, string? FailedAt);
