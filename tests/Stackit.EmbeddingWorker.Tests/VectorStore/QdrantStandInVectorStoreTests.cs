using Stackit.EmbeddingWorker.Testing.QdrantStandIn;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>The vector store contract against the in-process Qdrant gRPC STAND-IN (not real Qdrant).</summary>
public sealed class QdrantStandInVectorStoreTests : VectorStoreContractTests, IAsyncLifetime
{
    private QdrantStandInServer? _server;

    protected override Uri? Endpoint => _server?.Endpoint;

    public async ValueTask InitializeAsync() => _server = await QdrantStandInServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
