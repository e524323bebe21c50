using System.Net;
using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// Sits inside the resilience handler, so it sees every attempt, retried ones included, and tells the
/// concurrency limit whether the endpoint kept up or pushed back, and the rate budget the limits the server declares
/// (<see cref="ServerRateLimits"/>) — the budget of the model the request asked for.
/// </summary>
internal sealed class EndpointFeedbackHandler(AdaptiveConcurrencyLimit limit, WorkerMetrics metrics, TimeProvider time, RateBudgets? budgets = null) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
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
        if (budgets is not null && request.Options.TryGetValue(OpenAiEmbeddingClient.ModelOption, out var model)
            && budgets.For(model) is { IsLimited: true } budget && ServerRateLimits.From(response.Headers) is { IsEmpty: false } limits)
        {
            budget.Observe(limits);
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
