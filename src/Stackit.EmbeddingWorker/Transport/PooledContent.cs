using System.Buffers;
using System.Net;

namespace Stackit.EmbeddingWorker.Transport;

/// <summary>
/// A response body held in one buffer rented from the shared pool, returned to it when the response is disposed:
/// an answer of a hundred 4,096-dimension vectors is megabytes, and a fresh array for each (a growing
/// MemoryStream, as HttpClient buffers) lands on the large object heap and costs full collections.
/// </summary>
internal sealed class PooledContent : HttpContent
{
    private byte[]? _buffer;
    private readonly int _length;

    private PooledContent(byte[] buffer, int length)
    {
        _buffer = buffer;
        _length = length;
    }

    public ReadOnlySpan<byte> Span => (_buffer ?? throw new ObjectDisposedException(nameof(PooledContent))).AsSpan(0, _length);

    /// <summary>Reads <paramref name="content"/> to its end into a pooled buffer, sized by Content-Length when it is known.</summary>
    /// <exception cref="HttpRequestException">The body is larger than <paramref name="maxBytes"/>.</exception>
    public static async Task<PooledContent> ReadAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        var declared = content.Headers.ContentLength;
        if (declared > maxBytes)
        {
            throw new HttpRequestException($"the response body of {declared} bytes exceeds the {maxBytes} bytes allowed.");
        }
        var buffer = ArrayPool<byte>.Shared.Rent(declared is > 0 ? (int)declared.Value : 64 * 1024);
        var length = 0;
        try
        {
            var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (length == declared)
                        {
                            break;
                        }
                        if (length >= maxBytes)
                        {
                            throw new HttpRequestException($"the response body exceeds the {maxBytes} bytes allowed.");
                        }
                        buffer = Grow(buffer, length, (int)Math.Min(maxBytes, (long)buffer.Length * 2));
                    }
                    var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }
                    length += read;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        var pooled = new PooledContent(buffer, length);
        foreach (var header in content.Headers)
        {
            pooled.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
        pooled.Headers.ContentLength = length;
        return pooled;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync((_buffer ?? throw new ObjectDisposedException(nameof(PooledContent))).AsMemory(0, _length)).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        base.Dispose(disposing);
    }

    private static byte[] Grow(byte[] buffer, int length, int size)
    {
        var larger = ArrayPool<byte>.Shared.Rent(size);
        buffer.AsSpan(0, length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }
}
