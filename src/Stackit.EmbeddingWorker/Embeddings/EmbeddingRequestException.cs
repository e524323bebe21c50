using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>The endpoint refused a request. The message is the server's, never the request or its credentials.</summary>
internal sealed partial class EmbeddingRequestException(HttpStatusCode status, string serverMessage)
    : Exception($"embeddings endpoint answered {(int)status} {status}: {serverMessage}")
{
    public HttpStatusCode Status { get; } = status;

    public string ServerMessage { get; } = serverMessage;

    /// <summary>Worth trying again later: throttling, timeouts and server faults.</summary>
    public bool IsTransient => Status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)Status >= 500;

    /// <summary>
    /// The worker's own settings are refused (API key, base URL or model name): no job is at fault, so none is
    /// poisoned; the endpoint's circuit opens and the backlog waits in the queue for the fix.
    /// </summary>
    public bool IsConfigurationProblem => Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound;

    /// <summary>
    /// Any other 4xx: something in the inputs is wrong (too long, malformed, refused). Splitting the batch isolates
    /// the input at fault, whose job is then poisoned with the server's message.
    /// </summary>
    public bool IsInputProblem => (int)Status is >= 400 and < 500 && !IsTransient && !IsConfigurationProblem;

    /// <summary>The inputs are longer than the model takes (vLLM: "maximum context length is … tokens").</summary>
    public bool IsTooLong => Status is HttpStatusCode.RequestEntityTooLarge || (IsInputProblem && TooLongPattern().IsMatch(ServerMessage));

    /// <summary>The token count the server reported for the refused input, when it says.</summary>
    public int? CountedTokens =>
        RequestedTokensPattern().Match(ServerMessage) is { Success: true } match
        && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var tokens)
            ? tokens
            : null;

    [GeneratedRegex(@"context length|too long|too many tokens|reduce the length|maximum.{0,40}tokens", RegexOptions.IgnoreCase)]
    private static partial Regex TooLongPattern();

    [GeneratedRegex(@"requested (\d{1,9}) tokens", RegexOptions.IgnoreCase)]
    private static partial Regex RequestedTokensPattern();
}
