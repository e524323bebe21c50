using System.Net;
using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// Sits inside the resilience handler, so it sees every attempt, retried ones included: it charges each retry to the
/// rate budget (<see cref="EndpointRateBudget.ChargeAttemptAsync"/>), and tells the concurrency limit whether the endpoint
/// kept up or pushed back, and the rate budget — the budget of the model the request asked for — the limits the server
/// declares (<see cref="ServerRateLimits"/>) and every 429 (<see cref="EndpointRateBudget.Throttled"/>).
/// </summary>
internal sealed class EndpointFeedbackHandler(AdaptiveConcurrencyLimit limit, WorkerMetrics metrics, TimeProvider time, RateBudgets? budgets = null) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await EndpointRateBudget.ChargeAttemptAsync(cancellationToken).ConfigureAwait(false);
        var started = time.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            metrics.Attempted(null, time.GetElapsedTime(started));
            throw;
        }
        metrics.Attempted((int)response.StatusCode, time.GetElapsedTime(started));
        var budget = budgets is not null && request.Options.TryGetValue(OpenAiEmbeddingClient.ModelOption, out var model)
            && budgets.For(model) is { IsLimited: true } limited ? limited : null;
        if (budget is not null && ServerRateLimits.From(response.Headers) is { IsEmpty: false } limits)
        {
            budget.Observe(limits);
        }
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            budget?.Throttled();
        }
        if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
        {
            limit.OnThrottled();
        }
        else if (response.IsSuccessStatusCode)
        {
            limit.OnSuccess(time.GetElapsedTime(started));
        }
        return response;
    }
}
