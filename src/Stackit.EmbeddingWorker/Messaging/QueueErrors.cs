using Azure;

namespace Stackit.EmbeddingWorker.Messaging;

internal static class QueueErrors
{
    /// <summary>
    /// Azure answers 404 MessageNotFound for a stale pop receipt; Azurite answers 400 PopReceiptMismatch. A 404 for a
    /// missing queue (QueueNotFound) is not a lost lease.
    /// </summary>
    public static bool IsLeaseLost(RequestFailedException ex) =>
        ex.ErrorCode is "PopReceiptMismatch" or "MessageNotFound" || (ex.Status == 404 && ex.ErrorCode is null);

    public static bool IsQueueMissing(RequestFailedException ex) => ex.ErrorCode == "QueueNotFound";
}
