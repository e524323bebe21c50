namespace Stackit.EmbeddingWorker.Transport;

/// <summary>
/// Reads a successful answer's body into a <see cref="PooledContent"/> inside the attempt, so the attempt's timeout
/// and the retries cover the body too (HttpClient's own buffering runs after the resilience handler), and the vectors
/// are parsed from one buffer in a single pass instead of from a stream whose buffer grows to each vector's size.
/// A body that breaks off is a transient failure, retried like a refused connection.
/// </summary>
internal sealed class ResponseBufferingHandler : DelegatingHandler
{
    /// <summary>Far above any real answer (256 vectors of 8,192 floats as JSON numbers are about 25 MB).</summary>
    internal const int MaxResponseBytes = 256 * 1024 * 1024;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return response;
        }
        try
        {
            var original = response.Content;
            response.Content = await PooledContent.ReadAsync(original, MaxResponseBytes, cancellationToken).ConfigureAwait(false);
            original.Dispose();
            return response;
        }
        catch (IOException ex)
        {
            response.Dispose();
            throw new HttpRequestException($"reading the embeddings response failed: {ex.Message}", ex);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
