using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Hosting;

/// <summary>
/// Warns at start when an API key would travel in clear text: a <c>http://</c> Qdrant endpoint with
/// <c>Qdrant:ApiKey</c> set, or a <c>http://</c> <c>Embeddings:BaseUrl</c>, to a host that is not loopback. Such a key
/// can be read by anyone on the network path; use <c>https://</c>.
/// </summary>
internal sealed partial class ClearTextKeyWarnings(QdrantOptions qdrant, EmbeddingsOptions embeddings, ILogger<ClearTextKeyWarnings> logger) : IHostedService
{
    public static IEnumerable<string> Of(QdrantOptions qdrant, EmbeddingsOptions embeddings)
    {
        if (qdrant.ApiKey is { Length: > 0 } && IsClearText(qdrant.Endpoint))
        {
            yield return $"Qdrant:ApiKey is sent in clear text to {qdrant.Endpoint.Host} (Qdrant:Endpoint is http://); use https://.";
        }
        if (embeddings.ApiKey is { Length: > 0 } && IsClearText(embeddings.BaseUrl))
        {
            yield return $"Embeddings:ApiKey is sent in clear text to {embeddings.BaseUrl.Host} (Embeddings:BaseUrl is http://); use https://.";
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var warning in Of(qdrant, embeddings))
        {
            LogClearText(warning);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Uri.IsLoopback covers localhost, 127.0.0.0/8 and ::1.
    private static bool IsClearText(Uri endpoint) => endpoint.Scheme == Uri.UriSchemeHttp && !endpoint.IsLoopback;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private partial void LogClearText(string warning);
}
