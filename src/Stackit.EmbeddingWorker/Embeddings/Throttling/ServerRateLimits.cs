using System.Globalization;
using System.Net.Http.Headers;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// The server's own account of its rate window, from OpenAI's headers: <c>x-ratelimit-limit-requests</c>/<c>-tokens</c>
/// (the limits per minute), <c>x-ratelimit-remaining-requests</c>/<c>-tokens</c> and
/// <c>x-ratelimit-reset-requests</c>/<c>-tokens</c> (durations such as <c>1s</c>, <c>6m0s</c>, <c>20ms</c>, or plain seconds).
/// </summary>
internal readonly record struct ServerRateLimits(long? RemainingRequests, long? RemainingTokens, TimeSpan? ResetRequests, TimeSpan? ResetTokens,
    long? LimitRequests = null, long? LimitTokens = null)
{
    public bool IsEmpty => RemainingRequests is null && RemainingTokens is null && LimitRequests is null && LimitTokens is null;

    public static ServerRateLimits From(HttpResponseHeaders headers) => new(
        Count(headers, "x-ratelimit-remaining-requests"),
        Count(headers, "x-ratelimit-remaining-tokens"),
        Duration(headers, "x-ratelimit-reset-requests"),
        Duration(headers, "x-ratelimit-reset-tokens"),
        Count(headers, "x-ratelimit-limit-requests"),
        Count(headers, "x-ratelimit-limit-tokens"));

    private static long? Count(HttpResponseHeaders headers, string name) =>
        First(headers, name) is { } text && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? Math.Max(0, value) : null;

    private static TimeSpan? Duration(HttpResponseHeaders headers, string name) =>
        First(headers, name) is { } text ? ParseDuration(text) : null;

    private static string? First(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault()?.Trim() : null;

    /// <summary>Parses Go-style durations (<c>1h2m3.5s</c>, <c>250ms</c>) and plain seconds (<c>1.5</c>); null if neither.</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain))
        {
            return plain >= 0 && plain < TimeSpan.FromDays(1).TotalSeconds ? TimeSpan.FromSeconds(plain) : null;
        }
        var total = 0.0;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }
            if (start == i || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }
            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]))
            {
                i++;
            }
            double? seconds = text[unitStart..i] switch
            {
                "h" => number * 3600,
                "m" => number * 60,
                "s" => number,
                "ms" => number / 1000,
                "us" => number / 1_000_000,
                "ns" => number / 1_000_000_000,
                _ => null,
            };
            if (seconds is null)
            {
                return null;
            }
            total += seconds.Value;
        }
        return text.Length > 0 && total < TimeSpan.FromDays(1).TotalSeconds ? TimeSpan.FromSeconds(total) : null;
    }
}
