using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// How every request reaches the endpoint, live or backfill: a slot under the adaptive limit first, then the rate
/// budget, then the request at once — so requests arrive spaced as the budget spaced them, not bunched up behind
/// a slot they waited for after their budget was granted. The answer's usage settles the budget. Backfill copies are
/// counted apart from live work, so the fleet's split of the budget can serve live work first, and they wait for a slot
/// after live work and never take the last one. Each model has a budget of
/// its own (<see cref="RateBudgets"/>). A request of several
/// inputs that is larger than the replica's share now allows (<see cref="EndpointRateBudget.MaxRequestTokens"/>) is
/// not sent: the share may have fallen while it waited for its slot, and its caller cuts it smaller.
/// </summary>
internal sealed class EndpointAdmission(AdaptiveConcurrencyLimit concurrency, RateBudgets budgets, WorkerMetrics metrics, TimeProvider time)
{
    /// <summary>The most estimated tokens one request of <paramref name="model"/> should carry now (<see cref="EndpointRateBudget.MaxRequestTokens"/>).</summary>
    public int MaxRequestTokens(string model) => budgets.For(model).MaxRequestTokens;

    /// <summary>The answer, or null when the request has several inputs and is now too large to send whole.</summary>
    public async Task<EmbeddingResult?> SendAsync(string model, int estimatedTokens, int inputs, Func<CancellationToken, Task<EmbeddingResult>> send, CancellationToken cancellationToken, bool backfill = false)
    {
        var budget = budgets.For(model);
        using var slot = await concurrency.AcquireAsync(cancellationToken, backfill).ConfigureAwait(false);
        if (inputs > 1 && estimatedTokens > budget.MaxRequestTokens)
        {
            return null;
        }
        var waitStarted = time.GetTimestamp();
        var result = await budget.ChargeAsync(estimatedTokens, token =>
        {
            metrics.WaitedForBudget(time.GetElapsedTime(waitStarted));
            metrics.RequestSent(estimatedTokens, inputs);
            return send(token);
        }, cancellationToken, backfill).ConfigureAwait(false);
        metrics.Embedded(inputs, result.PromptTokens ?? estimatedTokens);
        return result;
    }
}
