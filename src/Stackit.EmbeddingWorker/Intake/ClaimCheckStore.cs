using Azure;
using Azure.Storage.Blobs;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>
/// The claim-check container: a job over the queue's 64 KiB limit is uploaded here as a blob and the queue message
/// names it (<c>blobUri</c>). Reads only blobs inside the configured container, through the worker's own
/// credentials, and never more than <c>Blobs:MaxBlobBytes</c>: a message cannot make the worker fetch an arbitrary
/// address or an unbounded body.
/// </summary>
internal sealed class ClaimCheckStore(Lazy<BlobContainerClient> client, BlobOptions options, ByteBudget? budget = null)
{
    public ClaimCheckStore(BlobContainerClient container, BlobOptions options, ByteBudget? budget = null)
        : this(new Lazy<BlobContainerClient>(container), options, budget)
    {
    }

    /// <summary>
    /// The client is made on first use: a worker whose connection string has no blob endpoint runs, and only
    /// claim-check messages fail (and are retried, then poisoned) with the reason.
    /// </summary>
    public static ClaimCheckStore Create(BlobOptions blobs, QueueOptions queue, AzureOptions? azure = null, ByteBudget? budget = null) => new(new Lazy<BlobContainerClient>(() =>
    {
        var service = blobs.ServiceUri is { } uri
            ? new BlobServiceClient(uri, (azure ?? new AzureOptions()).CreateCredential())
            : new BlobServiceClient(blobs.ConnectionString ?? queue.ConnectionString);
        return service.GetBlobContainerClient(blobs.Container);
    }), blobs, budget);

    public string ContainerName => options.Container;

    /// <summary>The container, for the fleet ledger that lives beside the job blobs.</summary>
    internal BlobContainerClient Container => client.Value;

    /// <summary>The blob's content, or why there is none; <see cref="ClaimCheckRead.Transient"/> when it may appear later.</summary>
    public async Task<ClaimCheckRead> ReadAsync(string blobUri, CancellationToken cancellationToken)
    {
        BlobContainerClient container;
        try
        {
            container = client.Value;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            return ClaimCheckRead.Transient($"blob storage is not configured (Blobs:*): {ex.Message}");
        }
        if (BlobName(blobUri) is not { } name)
        {
            return ClaimCheckRead.Rejected($"blobUri '{JobMessageParser.Truncate(blobUri)}' is not a blob in the container '{options.Container}' this worker reads.");
        }
        try
        {
            var response = await container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            using var download = response.Value;
            if (download.Details.ContentLength > options.MaxBlobBytes)
            {
                return ClaimCheckRead.Rejected($"blob '{name}' is {download.Details.ContentLength} bytes; Blobs:MaxBlobBytes is {options.MaxBlobBytes}.");
            }
            // The body's bytes count against Blobs:MaxInFlightBytes until its message is settled (Acknowledgement).
            var held = budget is null ? 0 : await budget.AcquireAsync(download.Details.ContentLength, cancellationToken).ConfigureAwait(false);
            try
            {
                var content = new byte[download.Details.ContentLength];
                await download.Content.ReadExactlyAsync(content, cancellationToken).ConfigureAwait(false);
                return ClaimCheckRead.Read(content, budget?.Hold(held));
            }
            catch
            {
                budget?.Release(held);
                throw;
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return ClaimCheckRead.Transient($"blob '{name}' does not exist (yet) in container '{container.Name}'.");
        }
        catch (RequestFailedException ex)
        {
            return ClaimCheckRead.Transient($"reading blob '{name}' failed: {ex.Status} {ex.ErrorCode}");
        }
        catch (Exception ex) when (QueueErrors.IsUnavailable(ex))
        {
            // No answer after the client's retries, or no credential: storage is out, the job is tried again.
            return ClaimCheckRead.Transient($"reading blob '{name}' failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Uploads a job body and returns the address a queue message names it by.</summary>
    public async Task<Uri> UploadAsync(string name, BinaryData body, CancellationToken cancellationToken)
    {
        var container = client.Value;
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var blob = container.GetBlobClient(name);
        await blob.UploadAsync(body, overwrite: true, cancellationToken).ConfigureAwait(false);
        return blob.Uri;
    }

    /// <summary>The blob name when <paramref name="blobUri"/> points into the container (any query is ignored), else null.</summary>
    internal string? BlobName(string blobUri)
    {
        if (!Uri.TryCreate(blobUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            return null;
        }
        var root = client.Value.Uri;
        if (!string.Equals(uri.Scheme, root.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(uri.Authority, root.Authority, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var prefix = root.AbsolutePath.TrimEnd('/') + "/";
        if (!uri.AbsolutePath.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }
        // Backslashes count as separators (some clients and tools turn them into '/'), and no segment may climb.
        var name = Uri.UnescapeDataString(uri.AbsolutePath[prefix.Length..]);
        return name.Length == 0 || name.Contains('\\') || name.Any(char.IsControl) || name.Split('/').Any(segment => segment is "" or "." or "..") ? null : name;
    }
}

/// <summary>A claimed job's body, or why it could not be read.</summary>
internal readonly record struct ClaimCheckRead(byte[]? Content, string? Error, bool IsTransient, IDisposable? Held = null)
{
    /// <summary>The body, with its bytes of the byte budget (<paramref name="held"/>) to give back when the message is settled.</summary>
    public static ClaimCheckRead Read(byte[] content, IDisposable? held = null) => new(content, null, false, held);

    public static ClaimCheckRead Rejected(string error) => new(null, error, false);

    public static ClaimCheckRead Transient(string error) => new(null, error, true);
}
