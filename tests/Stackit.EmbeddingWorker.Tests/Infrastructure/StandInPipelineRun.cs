using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Hosting;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>
/// The whole worker in-process against Azurite, the loopback endpoint and the Qdrant STAND-IN, with chunks of at
/// most 40 tokens and no overlap, so a test can count points by paragraphs.
/// </summary>
internal sealed class StandInPipelineRun : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly Dictionary<string, string?> _settings;

    private StandInPipelineRun(FakeEmbeddingServer embeddings, QdrantStandInServer qdrant, IHost host, QueueClient queue, QueueClient poison, string collection, Dictionary<string, string?> settings)
    {
        _settings = settings;
        Embeddings = embeddings;
        Qdrant = qdrant;
        _host = host;
        Queue = queue;
        Poison = poison;
        Collection = collection;
    }

    public FakeEmbeddingServer Embeddings { get; }

    public QdrantStandInServer Qdrant { get; }

    public QueueClient Queue { get; }

    public QueueClient Poison { get; }

    public string Collection { get; }

    public int InputsEmbedded => Embeddings.Requests.Sum(r => r.Inputs.Count);

    public static async Task<StandInPipelineRun> StartAsync(AzuriteFixture azurite, string collection, CancellationToken ct, Action<Dictionary<string, string?>>? configure = null, List<string>? logCapture = null)
    {
        var embeddings = await FakeEmbeddingServer.StartAsync();
        var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName();
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: ct);
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, collection);
        settings["Chunking:MaxChunkTokens"] = "40";
        settings["Chunking:OverlapTokens"] = "0";
        configure?.Invoke(settings);
        var host = WorkerHost.Build(settings, logCapture);
        await host.StartAsync(ct);
        return new StandInPipelineRun(embeddings, qdrant, host, queue, azurite.Queue(queueName + "-poison"), collection, settings);
    }

    public async Task SendAndWaitAsync(string body, CancellationToken ct)
    {
        await Queue.SendMessageAsync(body, ct);
        await QueueAssertions.WaitUntilEmptyAsync(Queue, TimeSpan.FromSeconds(30), ct);
    }

    /// <summary>A helper command with the worker's settings: its exit code, what it wrote to stdout, and to stderr.</summary>
    public Task<(int Code, string Output, string Error)> CliAsync(CancellationToken ct, params string[] args) =>
        WorkerHost.RunCommandAsync(_settings, ct, args);

    public List<StoredPoint> Points(string documentId) =>
        [.. Qdrant.Store.Points(Collection).Where(p => p.Payload[PayloadFields.DocumentId].StringValue == documentId)];

    public static string Upsert(string id, long? version, params string[] paragraphs) =>
        JsonSerializer.Serialize(new { id, version, title = $"v{version}", text = string.Join("\n\n", paragraphs) });

    public static string Delete(string id, long? version) => JsonSerializer.Serialize(new { id, op = "delete", version });

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
        await Qdrant.DisposeAsync();
        await Embeddings.DisposeAsync();
    }
}
