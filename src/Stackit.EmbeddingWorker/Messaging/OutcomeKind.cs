namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>What became of a message's work, as the <see cref="SettlementPolicy"/> settles it.</summary>
internal enum OutcomeKind
{
    /// <summary>Every chunk is durably stored: delete the message.</summary>
    Stored,

    /// <summary>The job can never succeed as sent: poison it now.</summary>
    Rejected,

    /// <summary>Something outside the job failed: try again later, poison after the last attempt.</summary>
    Failed,
}
