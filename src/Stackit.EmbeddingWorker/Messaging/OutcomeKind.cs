namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>What became of a message's work, as the <see cref="SettlementPolicy"/> settles it.</summary>
internal enum OutcomeKind
{
    /// <summary>Every chunk is durably stored: delete the message.</summary>
    Stored,

    /// <summary>The job can never succeed as sent: poison it now.</summary>
    Rejected,

    /// <summary>The job failed on its own account: try again later, poison after the last attempt.</summary>
    Failed,

    /// <summary>
    /// A dependency (the endpoint, Qdrant, storage) was down when the job failed, as its circuit said at that moment:
    /// try again after a backoff; the attempt does not count.
    /// </summary>
    Unavailable,
}
