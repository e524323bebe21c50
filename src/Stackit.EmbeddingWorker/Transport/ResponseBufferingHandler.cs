namespace Stackit.EmbeddingWorker.Transport;

/// <summary>
/// Reads a successful answer's body into a <see cref="PooledContent"/> inside the attempt, so the attempt's timeout
/// and the retries cover the body too (HttpClient's own buffering runs after the resilience handler), and the vectors
/// are parsed from one buffer in a single pass instead of from a stream whose buffer grows to each vector's size.
/// A body that breaks off is a transient failure, retried like a refused connection. An error answer's body is read
/// inside the attempt too, up to <see cref="MaxErrorBytes"/>: an endpoint (or a proxy) that sends an endless error
/// body can neither hold the call past the attempt's timeout nor fill memory.
/// </summary>
internal sealed class ResponseBufferingHandler : DelegatingHandler
{
    /// <summary>Far above any real answer (256 vectors of 8,192 floats as JSON numbers are about 25 MB).</summary>
    internal const int MaxResponseBytes = 256 * 1024 * 1024;

    /// <summary>What is kept of an error answer's body: enough for any real error message.</summary>
    internal const int MaxErrorBytes = 64 * 1024;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            await KeepErrorBodyAsync(response, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Replaces an error answer's body by its first <see cref="MaxErrorBytes"/> bytes (what arrived of them, if it breaks off).</summary>
    private static async Task KeepErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var original = response.Content;
        var kept = new byte[MaxErrorBytes];
        var length = 0;
        try
        {
            using var stream = await original.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            int read;
            while (length < kept.Length && (read = await stream.ReadAsync(kept.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }
        }
        catch (IOException)
        {
            // The body broke off: what arrived says what it can.
        }
        var content = new ByteArrayContent(kept, 0, length);
        foreach (var header in original.Headers)
        {
            content.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
        content.Headers.ContentLength = length;
        response.Content = content;
        original.Dispose();
    }
}
