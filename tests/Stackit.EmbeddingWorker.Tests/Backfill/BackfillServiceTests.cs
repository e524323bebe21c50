using Azure.Storage.Queues;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.Backfill;

/// <summary>
/// Backfill pages through the worker's own stages (Azurite, the loopback endpoint, the Qdrant STAND-IN): what a
/// page may and may not change in the target.
/// </summary>
public sealed class BackfillServiceTests(AzuriteFixture azurite)
{
    private const string Model = "test/e5-like";
    private static readonly DateTimeOffset Earlier = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Later = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_copy_read_before_a_newer_change_neither_overwrites_nor_deletes_what_that_change_wrote()
    {
        await using var run = await StartAsync();
        var client = run.Qdrant.CreateClient();
        // The source as the page reads it: doc-1 at an older state, doc-3 never copied; doc-2 is gone from it.
        await client.UpsertAsync("docs_v1", [Point("doc-1", "old text", Earlier), Point("doc-3", "plain copy", Earlier)], cancellationToken: Ct);
        // The target as a later copy (of newer source writes) left it.
        await client.UpsertAsync("docs_v2", [Point("doc-1", "newer text", Later), Point("doc-2", "created again later", DateTimeOffset.UtcNow.AddHours(1))], cancellationToken: Ct);

        await CopyAsync(run, new BackfillPage("docs", "docs_v2", ["doc-1", "doc-2", "doc-3"]));

        var target = run.Qdrant.Store.Points("docs_v2").ToDictionary(p => p.Payload[PayloadFields.DocumentId].StringValue, p => p.Payload[PayloadFields.Text].StringValue);
        Assert.Equal("newer text", target["doc-1"]);
        Assert.Equal("created again later", target["doc-2"]);
        Assert.Equal("plain copy", target["doc-3"]);
        Assert.Equal(FakeEmbeddingServer.VectorFor("plain copy", 8), run.Qdrant.Store.Points("docs_v2").Single(p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-3").Vector);
        Assert.Equal(2, run.InputsEmbedded);
        Assert.Equal(0, await QueueAssertions.CountAsync(BackfillPoison(run), Ct));
    }

    [Fact]
    public async Task A_page_copied_before_costs_no_embedding_and_a_source_without_text_is_refused()
    {
        await using var run = await StartAsync();
        var client = run.Qdrant.CreateClient();
        await client.UpsertAsync("docs_v1", [Point("doc-1", "some text", Earlier)], cancellationToken: Ct);

        await CopyAsync(run, new BackfillPage("docs", "docs_v2", ["doc-1"]));
        var requests = run.Embeddings.Requests.Count;
        await CopyAsync(run, new BackfillPage("docs", "docs_v2", ["doc-1"]));

        Assert.Equal(1, run.InputsEmbedded);
        Assert.Equal(requests, run.Embeddings.Requests.Count);
        var copy = Assert.Single(run.Qdrant.Store.Points("docs_v2"));
        Assert.Equal(PointIds.For("docs", "doc-1", 0).ToString(), copy.Id.Uuid.ToString());
        Assert.Equal(Earlier, DateTimeOffset.Parse(copy.Payload[PayloadFields.EmbeddedAt].StringValue, System.Globalization.CultureInfo.InvariantCulture));

        var withoutText = Point("doc-2", "x", Earlier);
        withoutText.Payload.Remove(PayloadFields.Text);
        await client.UpsertAsync("docs_v1", [withoutText], cancellationToken: Ct);
        await CopyAsync(run, new BackfillPage("docs", "docs_v2", ["doc-2"]));
        var poisoned = Assert.Single(await QueueAssertions.DrainAsync(BackfillPoison(run), Ct));
        Assert.Contains("holds no text", poisoned.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    /// <summary>The worker with the alias <c>docs</c> → <c>docs_v1</c> and an empty <c>docs_v2</c>.</summary>
    private async Task<StandInPipelineRun> StartAsync()
    {
        var run = await StandInPipelineRun.StartAsync(azurite, "docs", Ct, s =>
        {
            s["Queue:MaxPollingInterval"] = "00:00:00.200";
            s["Embeddings:Model"] = Model;
        });
        var client = run.Qdrant.CreateClient();
        foreach (var name in new[] { "docs_v1", "docs_v2" })
        {
            await client.CreateCollectionAsync(name, new VectorParams { Size = 8, Distance = Distance.Cosine }, cancellationToken: Ct);
        }
        await client.CreateAliasAsync("docs", "docs_v1", cancellationToken: Ct);
        return run;
    }

    private QueueClient BackfillQueue(StandInPipelineRun run) => azurite.Queue(run.Queue.Name + "-backfill");

    private QueueClient BackfillPoison(StandInPipelineRun run) => azurite.Queue(run.Queue.Name + "-backfill-poison");

    private async Task CopyAsync(StandInPipelineRun run, BackfillPage page)
    {
        var queue = BackfillQueue(run);
        await queue.CreateIfNotExistsAsync(cancellationToken: Ct);
        await queue.SendMessageAsync(page.ToJson(), Ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);
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
