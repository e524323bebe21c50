using System.Net;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// Sits inside the resilience handler, so it sees every attempt, retried ones included, and tells the
/// concurrency limit whether the endpoint kept up or pushed back.
/// </summary>
internal sealed class EndpointFeedbackHandler(AdaptiveConcurrencyLimit limit, TimeProvider time) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
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
