using System.Net;
using System.Text;
using Stackit.EmbeddingWorker.Transport;

namespace Stackit.EmbeddingWorker.Tests.Transport;

/// <summary>What the innermost handler does with the bodies of answers, inside each attempt.</summary>
public sealed class ResponseBufferingHandlerTests
{
    [Fact]
    public async Task An_endless_error_body_is_cut_at_its_bound_inside_the_attempt()
    {
        // A proxy that streams an error page forever: before, it was read after the attempts, with no bound on
        // time or size, by the code that formats the error message.
        using var invoker = new HttpMessageInvoker(new ResponseBufferingHandler { InnerHandler = new Answer(HttpStatusCode.BadGateway, new StreamContent(new EndlessStream())) });

        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1/v1/embeddings"), TestContext.Current.CancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(ResponseBufferingHandler.MaxErrorBytes, body.Length);
    }

    [Fact]
    public async Task A_short_error_body_is_kept_whole_with_its_content_type()
    {
        var json = """{"error":{"message":"rate limited"}}""";
        using var invoker = new HttpMessageInvoker(new ResponseBufferingHandler { InnerHandler = new Answer(HttpStatusCode.TooManyRequests, new StringContent(json, Encoding.UTF8, "application/json")) });

        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1/v1/embeddings"), TestContext.Current.CancellationToken);

        Assert.Equal(json, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    private sealed class Answer(HttpStatusCode status, HttpContent content) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = content, RequestMessage = request });
    }

    /// <summary>A body that never ends.</summary>
    private sealed class EndlessStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Fill(buffer, (byte)'x', offset, count);
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
