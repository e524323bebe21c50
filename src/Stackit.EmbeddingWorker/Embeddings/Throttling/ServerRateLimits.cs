using System.Globalization;
using System.Net.Http.Headers;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// The limits the server declares, from OpenAI's headers <c>x-ratelimit-limit-requests</c> and
/// <c>x-ratelimit-limit-tokens</c> (per minute). Its <c>x-ratelimit-remaining-*</c> and <c>x-ratelimit-reset-*</c> are not
/// read: a fleet paced at its budget keeps the server's window near empty, so they tell it nothing it can act on
/// (see <see cref="EndpointRateBudget.Observe"/>).
/// </summary>
internal readonly record struct ServerRateLimits(long? LimitRequests, long? LimitTokens)
{
    public bool IsEmpty => LimitRequests is null && LimitTokens is null;

    public static ServerRateLimits From(HttpResponseHeaders headers) => new(
        Count(headers, "x-ratelimit-limit-requests"),
        Count(headers, "x-ratelimit-limit-tokens"));

    private static long? Count(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) && values.FirstOrDefault()?.Trim() is { } text
            && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? Math.Max(0, value) : null;
}
