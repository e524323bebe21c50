using Stackit.EmbeddingWorker.Testing.QueueStandIn;

namespace Stackit.EmbeddingWorker.Tests.Intake;

/// <summary>The queue contract against the in-process Azure Queue STAND-IN (not Azurite) the benchmark uses.</summary>
public sealed class QueueStandInContractTests : QueueContractTests, IAsyncLifetime
{
    private QueueStandInServer? _server;

    protected override Azure.Storage.Queues.QueueClient Queue(string name) => _server!.Queue(name);

    public async ValueTask InitializeAsync() => _server = await QueueStandInServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
