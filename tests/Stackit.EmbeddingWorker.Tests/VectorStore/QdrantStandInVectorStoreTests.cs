using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>The vector store contract against the in-process Qdrant gRPC STAND-IN (not real Qdrant).</summary>
public sealed class QdrantStandInVectorStoreTests : VectorStoreContractTests, IAsyncLifetime
{
    private QdrantStandInServer? _server;

    protected override Uri? Endpoint => _server?.Endpoint;

    [Fact]
    public async Task A_collection_with_Bm25_is_refused_on_a_qdrant_older_than_1_15_3_with_the_reason()
    {
        // 1.15.2 knows the BM25 model name but has no inference service to run it: every write would fail (issue 28).
        _server!.Store.Version = "1.15.2";
        var options = new QdrantOptions { Endpoint = _server.Endpoint, Collection = "old", Bm25 = "english" };
        using var client = QdrantClients.Create(options, TimeSpan.Zero);
        var provisioner = new CollectionProvisioner(client, options, NullLogger<CollectionProvisioner>.Instance);

        var refused = await Assert.ThrowsAsync<VectorStoreRejectedException>(() => provisioner.EnsureAsync("old", 4, TestContext.Current.CancellationToken));

        Assert.Contains("Qdrant:Bm25 needs Qdrant 1.15.3 or later", refused.Message, StringComparison.Ordinal);
        Assert.Contains("this server is 1.15.2", refused.Message, StringComparison.Ordinal);
        Assert.False(_server.Store.Exists("old_v1"));
    }

    public async ValueTask InitializeAsync() => _server = await QdrantStandInServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
