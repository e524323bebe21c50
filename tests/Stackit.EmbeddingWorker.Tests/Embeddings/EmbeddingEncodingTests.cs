using System.Text.Json;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Embeddings;

public sealed class EmbeddingEncodingTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Base64_vectors_are_asked_for_by_default_and_decode_to_the_same_floats()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.Dimensions = 4096;
        using var services = EmbeddingClientFactory.Services(server);
        string[] inputs = ["alpha", "beta"];

        var result = await services.Client().EmbedAsync(inputs, Cancel);

        Assert.Equal("base64", Assert.Single(server.Requests).EncodingFormat);
        Assert.Equal(FakeEmbeddingServer.VectorFor("alpha", 4096), result.Vectors[0]);
        Assert.Equal(FakeEmbeddingServer.VectorFor("beta", 4096), result.Vectors[1]);
    }

    [Fact]
    public async Task A_server_that_refuses_base64_is_asked_again_for_floats_and_from_then_on_only_for_floats()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.RefuseBase64 = true;
        using var services = EmbeddingClientFactory.Services(server);

        var first = await services.Client().EmbedAsync(["alpha"], Cancel);
        var second = await services.Client().EmbedAsync(["beta"], Cancel);

        Assert.Equal(FakeEmbeddingServer.VectorFor("alpha", server.Dimensions), first.Vectors[0]);
        Assert.Equal(FakeEmbeddingServer.VectorFor("beta", server.Dimensions), second.Vectors[0]);
        Assert.Equal(["base64", "float", "float"], server.Requests.Select(r => r.EncodingFormat));
    }

    [Fact]
    public async Task A_server_that_ignores_encoding_format_and_sends_numbers_is_understood()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.IgnoreEncodingFormat = true;
        using var services = EmbeddingClientFactory.Services(server);

        var result = await services.Client().EmbedAsync(["alpha"], Cancel);

        Assert.Equal(FakeEmbeddingServer.VectorFor("alpha", server.Dimensions), result.Vectors[0]);
    }

    [Fact]
    public async Task Float_encoding_can_be_configured()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server, configure: s => s["Embeddings:Encoding"] = "Float");

        await services.Client().EmbedAsync(["alpha"], Cancel);

        Assert.Equal("float", Assert.Single(server.Requests).EncodingFormat);
    }

    [Theory]
    [InlineData("\"AAAAAAA=\"", "not a whole number of float32 values")]
    [InlineData("\"AAA*AAAAAAA=\"", "not valid base64")]
    [InlineData("\"AAAAAA\"", "not a whole number of float32 values")]
    [InlineData("true", "array of numbers or a base64 string")]
    public void A_vector_that_is_not_whole_float32_values_is_refused(string embedding, string expected)
    {
        var json = $$"""{"data":[{"index":0,"embedding":{{embedding}}}]}""";

        var error = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(json, EmbeddingWireContext.Default.EmbeddingResponse));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_escaped_base64_string_is_decoded_too()
    {
        // 1.0f is 00 00 80 3F: base64 "AACAPw==", here with the '/'-free text escaped as JSON allows.
        const string json = """{"data":[{"index":0,"embedding":"\u0041ACAPw=="}]}""";

        var response = JsonSerializer.Deserialize(json, EmbeddingWireContext.Default.EmbeddingResponse);

        Assert.Equal([1f], response!.Data![0].Embedding!);
    }
}
