using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>One Azurite (see <see cref="AzuriteProcess"/>) for the whole test run.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string Version = AzuriteProcess.Version;

    private readonly AzuriteProcess _azurite = new();

    public string ConnectionString => _azurite.ConnectionString;

    public QueueClient Queue(string name) => _azurite.Queue(name);

    public BlobContainerClient Container(string name) => new(ConnectionString, name);

    /// <summary>A queue name no other test uses.</summary>
    public static string UniqueQueueName(string prefix = "t") => AzuriteProcess.UniqueQueueName(prefix);

    public ValueTask InitializeAsync() => _azurite.StartAsync();

    public ValueTask DisposeAsync() => _azurite.DisposeAsync();
}
