using Stackit.EmbeddingWorker.Transport;

namespace Stackit.EmbeddingWorker.Tests.Transport;

public sealed class PooledContentTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_larger_than_the_first_buffer_is_read_whole_with_or_without_its_length(bool declared)
    {
        var body = new byte[300_000];
        new Random(3).NextBytes(body);
        using var content = new StreamContent(new TrickleStream(body));
        if (declared)
        {
            content.Headers.ContentLength = body.Length;
        }
        content.Headers.ContentType = new("application/json");

        using var pooled = await PooledContent.ReadAsync(content, maxBytes: 1_000_000, TestContext.Current.CancellationToken);

        Assert.True(pooled.Span.SequenceEqual(body));
        Assert.Equal(body.Length, pooled.Headers.ContentLength);
        Assert.Equal("application/json", pooled.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_the_limit_is_refused(bool declared)
    {
        var body = new byte[200_000];
        using var content = new StreamContent(new TrickleStream(body));
        if (declared)
        {
            content.Headers.ContentLength = body.Length;
        }

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => PooledContent.ReadAsync(content, maxBytes: 100_000, TestContext.Current.CancellationToken));

        Assert.Contains("100000 bytes", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Hands out at most 7,000 bytes a read and does not know its length, as a chunked response does.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 7_000));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 7_000)], cancellationToken);
    }
}
