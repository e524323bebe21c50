namespace Stackit.EmbeddingWorker.Diagnostics;

/// <summary>Why a message was poisoned: the <c>error.type</c> tag of <c>embedding_worker.jobs.poisoned</c>.</summary>
internal static class PoisonReasons
{
    /// <summary>The job itself is bad (validation, a document too large, a forged backfill page): no retry can help.</summary>
    public const string Rejected = "rejected";

    /// <summary>It failed on its own <c>Queue:MaxDequeueCount</c> times.</summary>
    public const string Attempts = "attempts";

    /// <summary>Older than <c>Queue:MaxJobAge</c>.</summary>
    public const string TooOld = "too_old";

    /// <summary>Delivered <c>Queue:MaxUnsettledDeliveries</c> times without being settled: its receivers crashed.</summary>
    public const string Unsettled = "unsettled";
}
