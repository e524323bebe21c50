using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Hosting;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.Hosting;

/// <summary>Which settings send an API key in clear text, and so are warned about at start.</summary>
public sealed class ClearTextKeyWarningsTests
{
    [Theory]
    [InlineData("http://qdrant.internal:6334", "key", "https://api.example/v1", "Qdrant:ApiKey is sent in clear text to qdrant.internal")]
    [InlineData("https://qdrant.internal:6334", "key", "http://10.0.0.7/v1", "Embeddings:ApiKey is sent in clear text to 10.0.0.7")]
    public void A_key_over_http_to_another_host_is_warned_about(string qdrant, string? qdrantKey, string embeddings, string warning)
    {
        var warnings = ClearTextKeyWarnings.Of(new QdrantOptions { Endpoint = new Uri(qdrant), ApiKey = qdrantKey }, new EmbeddingsOptions { BaseUrl = new Uri(embeddings), ApiKey = "sk" }).ToList();

        Assert.Contains(warnings, w => w.StartsWith(warning, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://127.0.0.1:6334", "key", "http://localhost:8080/v1")]
    [InlineData("http://127.0.0.2:6334", "key", "http://[::1]:8080/v1")]
    [InlineData("http://qdrant.internal:6334", null, "https://api.example/v1")]
    [InlineData("https://qdrant.internal:6334", "key", "https://api.example/v1")]
    public void Loopback_no_key_or_https_is_not(string qdrant, string? qdrantKey, string embeddings) =>
        Assert.Empty(ClearTextKeyWarnings.Of(new QdrantOptions { Endpoint = new Uri(qdrant), ApiKey = qdrantKey }, new EmbeddingsOptions { BaseUrl = new Uri(embeddings), ApiKey = "sk" }));
}
