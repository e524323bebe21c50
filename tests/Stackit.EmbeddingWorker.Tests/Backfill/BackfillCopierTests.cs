using Microsoft.Extensions.DependencyInjection;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Embeddings;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.Backfill;

/// <summary>The copier against the Qdrant STAND-IN and the loopback endpoint: what a page may and may not change in the target.</summary>
public sealed class BackfillCopierTests
{
    private const string Model = "test/e5-like";
    private static readonly DateTimeOffset Earlier = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Later = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_copy_read_before_a_newer_change_neither_overwrites_nor_deletes_what_that_change_wrote()
    {
        await using var run = await Run.StartAsync();
        var (client, qdrant, copier) = (run.Client, run.Qdrant, run.Copier);
        // The source as the page read it: doc-1 at an older state, doc-3 never copied; doc-2 is gone from it.
        await client.UpsertAsync("docs_v1", [Point("doc-1", "old text", Earlier), Point("doc-3", "plain copy", Earlier)], cancellationToken: Ct);
        // The target as a later copy (of newer source writes) left it.
        await client.UpsertAsync("docs_v2", [Point("doc-1", "newer text", Later), Point("doc-2", "created again later", DateTimeOffset.UtcNow.AddHours(1))], cancellationToken: Ct);

        var result = await copier.CopyAsync(new BackfillPage("docs", "docs_v2", ["doc-1", "doc-2", "doc-3"]), Ct);

        var target = qdrant.Store.Points("docs_v2").ToDictionary(p => p.Payload[PayloadFields.DocumentId].StringValue, p => p.Payload[PayloadFields.Text].StringValue);
        Assert.Equal("newer text", target["doc-1"]);
        Assert.Equal("created again later", target["doc-2"]);
        Assert.Equal("plain copy", target["doc-3"]);
        Assert.Equal(FakeEmbeddingServer.VectorFor("plain copy", 8), qdrant.Store.Points("docs_v2").Single(p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-3").Vector);
        Assert.Equal(2, result.Embedded);
    }

    [Fact]
    public async Task A_page_copied_before_costs_reads_only_and_a_source_without_text_is_refused()
    {
        await using var run = await Run.StartAsync();
        var (client, embeddings, copier) = (run.Client, run.Embeddings, run.Copier);
        await client.UpsertAsync("docs_v1", [Point("doc-1", "some text", Earlier)], cancellationToken: Ct);

        var first = await copier.CopyAsync(new BackfillPage("docs", "docs_v2", ["doc-1"]), Ct);
        var requests = embeddings.Requests.Count;
        var again = await copier.CopyAsync(new BackfillPage("docs", "docs_v2", ["doc-1"]), Ct);

        Assert.Equal(1, first.Embedded);
        Assert.Equal(new BackfillCopyResult(1, 0, 0, 1, 0), again);
        Assert.Equal(requests, embeddings.Requests.Count);

        var withoutText = Point("doc-2", "x", Earlier);
        withoutText.Payload.Remove(PayloadFields.Text);
        await client.UpsertAsync("docs_v1", [withoutText], cancellationToken: Ct);
        var refused = await Assert.ThrowsAsync<BackfillRejectedException>(() => copier.CopyAsync(new BackfillPage("docs", "docs_v2", ["doc-2"]), Ct));
        Assert.Contains("holds no text", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>The loopback endpoint, the stand-in with <c>docs</c> → <c>docs_v1</c> and an empty <c>docs_v2</c>, and the copier.</summary>
    private sealed class Run(FakeEmbeddingServer embeddings, QdrantStandInServer qdrant, ServiceProvider services) : IAsyncDisposable
    {
        public FakeEmbeddingServer Embeddings => embeddings;

        public QdrantStandInServer Qdrant => qdrant;

        public QdrantClient Client { get; } = qdrant.CreateClient();

        public BackfillCopier Copier => services.GetRequiredService<BackfillCopier>();

        public static async Task<Run> StartAsync()
        {
            var embeddings = await FakeEmbeddingServer.StartAsync();
            var qdrant = await QdrantStandInServer.StartAsync();
            var run = new Run(embeddings, qdrant, EmbeddingClientFactory.Services(embeddings, configure: s => s["Qdrant:Endpoint"] = qdrant.Endpoint.ToString()));
            foreach (var name in new[] { "docs_v1", "docs_v2" })
            {
                await run.Client.CreateCollectionAsync(name, new VectorParams { Size = 8, Distance = Distance.Cosine }, cancellationToken: Ct);
            }
            await run.Client.CreateAliasAsync("docs", "docs_v1", cancellationToken: Ct);
            return run;
        }

        public async ValueTask DisposeAsync()
        {
            services.Dispose();
            await qdrant.DisposeAsync();
            await embeddings.DisposeAsync();
        }
    }

    private static PointStruct Point(string documentId, string text, DateTimeOffset writtenAt)
    {
        var point = new PointStruct { Id = new PointId { Uuid = PointIds.For("docs", documentId, 0).ToString() }, Vectors = FakeEmbeddingServer.VectorFor(text, 8) };
        point.Payload[PayloadFields.DocumentId] = documentId;
        point.Payload[PayloadFields.ChunkIndex] = 0;
        point.Payload[PayloadFields.ChunkCount] = 1;
        point.Payload[PayloadFields.Text] = text;
        point.Payload[PayloadFields.ContentHash] = ContentHash.Of(Model, text);
        point.Payload[PayloadFields.Model] = Model;
        point.Payload[PayloadFields.EmbeddedAt] = writtenAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return point;
    }
}
