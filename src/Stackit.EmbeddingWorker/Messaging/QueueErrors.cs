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

    /// <summary>
    /// Storage did not do what was asked, for a reason outside the message: an error answer
    /// (<see cref="RequestFailedException"/>), no answer at all (Azure.Core gives up after its retries with an
    /// <see cref="AggregateException"/> of the attempts' failures), or a credential that could not be obtained
    /// (Azure.Identity's <see cref="Azure.Identity.AuthenticationFailedException"/>, which
    /// <see cref="Azure.Identity.CredentialUnavailableException"/> extends). Such a failure is logged and the call
    /// tried again later; it never stops the process.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        RequestFailedException or Azure.Identity.AuthenticationFailedException => true,
        HttpRequestException or IOException or TimeoutException => true,
        AggregateException aggregate => aggregate.Flatten().InnerExceptions is { Count: > 0 } inner && inner.All(IsUnavailable),
        _ => false,
    };
}
