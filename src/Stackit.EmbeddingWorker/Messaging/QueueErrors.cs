using Azure;

namespace Stackit.EmbeddingWorker.Messaging;

internal static class QueueErrors
{
    /// <summary>Azure answers 404 for a stale pop receipt; Azurite answers 400 PopReceiptMismatch.</summary>
    public static bool IsLeaseLost(RequestFailedException ex) =>
        ex.Status == 404 || ex.ErrorCode is "PopReceiptMismatch" or "MessageNotFound";
}
