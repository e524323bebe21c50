using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>
/// The vector store contract against the in-process Qdrant gRPC STAND-IN (not real Qdrant) behaving as the pinned
/// release, 1.16.3; <see cref="QdrantStandInNewestVectorStoreTests"/> runs it as the newest checked one.
/// </summary>
public sealed class QdrantStandInVectorStoreTests : VectorStoreContractTests, IAsyncLifetime
{
    private QdrantStandInServer? _server;

    protected override Uri? Endpoint => _server?.Endpoint;

    protected override int? Scrolls => _server?.Store.Calls.GetValueOrDefault("Scroll/points");

    [Fact]
    public async Task Below_1_15_4_the_worker_writes_nothing_because_the_server_would_let_an_older_write_replace_a_newer_one()
    {
        _server!.Store.Version = "1.15.3";
        var options = new QdrantOptions { Endpoint = _server.Endpoint, Collection = "old" };
        using var client = QdrantClients.Create(options, TimeSpan.Zero);
        var writer = new QdrantPointWriter(client, new CollectionProvisioner(client, options, NullLogger<CollectionProvisioner>.Instance),
            new PointFactory(options, TimeProvider.System), new QdrantCalls(Polly.ResiliencePipeline.Empty));
        // Why: such a server drops update_filter unread, so the guard of a newer point does not hold an older write back.
        await client.CreateCollectionAsync("plain", new Qdrant.Client.Grpc.VectorParams { Size = 1, Distance = Qdrant.Client.Grpc.Distance.Dot }, cancellationToken: Ct);
        await client.UpsertAsync("plain", [new Qdrant.Client.Grpc.PointStruct { Id = 1, Vectors = new[] { 1f }, Payload = { ["version"] = 2 } }], cancellationToken: Ct);
        await client.UpsertAsync(new Qdrant.Client.Grpc.UpsertPoints
        {
            CollectionName = "plain",
            Points = { new Qdrant.Client.Grpc.PointStruct { Id = 1, Vectors = new[] { 1f }, Payload = { ["version"] = 1 } } },
            UpdateFilter = new Qdrant.Client.Grpc.Filter { MustNot = { Qdrant.Client.Grpc.Conditions.Range("version", new Qdrant.Client.Grpc.Range { Gt = 1 }) } },
        }, Ct);
        Assert.Equal(1, Assert.Single(_server.Store.Points("plain")).Payload["version"].IntegerValue);

        var refused = await Assert.ThrowsAsync<QdrantUnsupportedException>(() => writer.UpsertAsync("old", [Chunk()], Ct));

        Assert.Contains("Qdrant 1.15.3 is older than 1.15.4", refused.Message, StringComparison.Ordinal);
        Assert.False(_server.Store.Exists("old_v1"));
    }

    [Fact]
    public async Task Behind_a_proxy_that_hides_the_version_the_worker_writes_only_with_Qdrant_AssumeVersion()
    {
        _server!.Store.Version = "";
        var options = new QdrantOptions { Endpoint = _server.Endpoint, Collection = "hidden" };
        using var client = QdrantClients.Create(options, TimeSpan.Zero);
        QdrantPointWriter Writer() => new(client, new CollectionProvisioner(client, options, NullLogger<CollectionProvisioner>.Instance),
            new PointFactory(options, TimeProvider.System), new QdrantCalls(Polly.ResiliencePipeline.Empty));

        var refused = await Assert.ThrowsAsync<QdrantUnsupportedException>(() => Writer().UpsertAsync("hidden", [Chunk("hidden")], Ct));
        Assert.Contains("Set Qdrant:AssumeVersion", refused.Message, StringComparison.Ordinal);
        options.AssumeVersion = "1.16.3";
        await Writer().UpsertAsync("hidden", [Chunk("hidden")], Ct);

        Assert.Single(_server.Store.Points("hidden"));
    }

    [Fact]
    public async Task A_read_of_the_collections_model_that_answers_after_an_alias_switch_does_not_make_a_later_write_of_the_old_model_look_like_the_jobs_fault()
    {
        // Seen in MigrationHistoryTests: a read of the model, begun before the switch and answered after the first write
        // had followed it, left the old model remembered for the alias; the next write of the old model then found the
        // shape it knew current and its own model recorded, and was poisoned as a size mismatch instead of embedded again.
        var options = new QdrantOptions { Endpoint = _server!.Endpoint, Collection = "docs" };
        using var client = QdrantClients.Create(options, TimeSpan.Zero);
        var provisioner = new CollectionProvisioner(client, options, NullLogger<CollectionProvisioner>.Instance);
        var writer = new QdrantPointWriter(client, provisioner, new PointFactory(options, TimeProvider.System), new QdrantCalls(Polly.ResiliencePipeline.Empty));
        await writer.UpsertAsync("docs", [Chunk("docs", "doc-1")], Ct);
        var answer = new TaskCompletionSource();
        _server.Store.HoldNextInfoOf("docs_v1", answer.Task);
        var slowRead = provisioner.EmbeddingOfAsync("docs", Ct);
        await client.CreateCollectionAsync(CollectionLayout.Request("docs_v2", 6, options, model: new CollectionModel("next/model", 6, null, false)), Ct);
        await client.CreateAliasAsync("docs", "docs_v2", cancellationToken: Ct);
        await Assert.ThrowsAsync<CollectionChangedException>(() => writer.UpsertAsync("docs", [Chunk("docs", "doc-2")], Ct));

        answer.SetResult();
        Assert.Equal("m", (await slowRead)?.Model);

        await Assert.ThrowsAsync<CollectionChangedException>(() => writer.UpsertAsync("docs", [Chunk("docs", "doc-3")], Ct));
        Assert.Equal("next/model", (await provisioner.EmbeddingOfAsync("docs", Ct))?.Model);
    }

    private static EmbeddedChunk Chunk(string collection = "old", string documentId = "doc-1")
    {
        var job = new DocumentJob(new QueueLease("q", "m", "p", 1, ReadOnlyMemory<byte>.Empty), new JobMessage(documentId, JobOperation.Upsert, "text", null, null, collection, [], 1));
        return new EmbeddedChunk(new DocumentChunk(job, 0, 1, "text", 1, "m", ContentHash.Of("m", "text")), [1f, 0f, 0f, 0f]);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_collection_with_Bm25_is_refused_on_a_qdrant_older_than_1_15_3_with_the_reason()
    {
        // 1.15.2 knows the BM25 model name but has no inference service to run it: every write would fail (issue 28).
        _server!.Store.Version = "1.15.2";
        var options = new QdrantOptions { Endpoint = _server.Endpoint, Collection = "old", Bm25 = "english" };
        using var client = QdrantClients.Create(options, TimeSpan.Zero);
        var provisioner = new CollectionProvisioner(client, options, NullLogger<CollectionProvisioner>.Instance);

        var refused = await Assert.ThrowsAsync<QdrantUnsupportedException>(() => provisioner.EnsureAsync("old", 4, TestContext.Current.CancellationToken));

        Assert.Contains("Qdrant:Bm25 needs Qdrant 1.15.3 or later", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Qdrant 1.15.2 is older than 1.15.4", refused.Message, StringComparison.Ordinal);
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
