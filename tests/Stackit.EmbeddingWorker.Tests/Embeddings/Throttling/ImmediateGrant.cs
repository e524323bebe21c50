using Stackit.EmbeddingWorker.Embeddings.Throttling;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

/// <summary>How a request asked of a budget on a fake clock came out when it was not allowed to wait.</summary>
internal enum Grant
{
    /// <summary>Granted at once.</summary>
    Now,

    /// <summary>It had to wait, and was granted while being withdrawn.</summary>
    Raced,

    /// <summary>It had to wait and was withdrawn: nothing taken.</summary>
    None,
}

/// <summary>Asks a budget for a request and withdraws it at once if it would wait: what the budget grants at this moment.</summary>
internal static class ImmediateGrant
{
    public static async Task<Grant> TryAsync(EndpointRateBudget budget, int tokens, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var request = budget.AcquireAsync(tokens, attempt.Token).AsTask();
        if (request.IsCompleted)
        {
            await request;
            return Grant.Now;
        }
        await attempt.CancelAsync();
        try
        {
            await request;
            return Grant.Raced;
        }
        catch (OperationCanceledException)
        {
            return Grant.None;
        }
    }
}
