using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Intake;

/// <summary>The queue contract against Azurite, the official emulator: the reference for the stand-in.</summary>
public sealed class AzuriteQueueContractTests(AzuriteFixture azurite) : QueueContractTests
{
    protected override Azure.Storage.Queues.QueueClient Queue(string name) => azurite.Queue(name);
}
