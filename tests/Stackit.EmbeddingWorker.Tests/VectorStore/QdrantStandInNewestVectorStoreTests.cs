using Stackit.EmbeddingWorker.Testing.QdrantStandIn;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>
/// The vector store contract against the in-process Qdrant gRPC STAND-IN (not real Qdrant) behaving as the newest
/// release it was checked against (<see cref="StandInRelease.Newest"/>, 1.19.0: vectors read back in the <c>dense</c> form).
/// </summary>
public sealed class QdrantStandInNewestVectorStoreTests : VectorStoreContractTests, IAsyncLifetime
{
    private QdrantStandInServer? _server;

    protected override Uri? Endpoint => _server?.Endpoint;

    protected override int? Scrolls => _server?.Store.Calls.GetValueOrDefault("Scroll/points");

    public async ValueTask InitializeAsync()
    {
        _server = await QdrantStandInServer.StartAsync();
        _server.Store.Version = StandInRelease.Newest.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
