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
        // The source holds each chunk's vector for the target's model and size: copied, not embedded.
        Assert.Equal(0, run.InputsEmbedded);
        Assert.Equal(0, await QueueAssertions.CountAsync(BackfillPoison(run), Ct));
    }

    [Fact]
    public async Task A_page_whose_source_read_is_slow_holds_up_only_itself_the_next_page_is_taken_and_copied_meanwhile()
    {
        await using var run = await StartAsync();
        var client = run.Qdrant.CreateClient();
        await client.UpsertAsync("docs_v1", [Point("doc-1", "slow read", Earlier), Point("doc-2", "next page", Earlier)], cancellationToken: Ct);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        run.Qdrant.Store.HoldNextScrollOf("docs_v1", release.Task);
        var queue = BackfillQueue(run);
        await queue.CreateIfNotExistsAsync(cancellationToken: Ct);

        var scrolls = run.Qdrant.Store.Calls.GetValueOrDefault("Scroll/points");
        await queue.SendMessageAsync(new BackfillPage("docs", "docs_v2", ["doc-1"]).ToJson(), Ct);
        await WaitForAsync(() => run.Qdrant.Store.Calls.GetValueOrDefault("Scroll/points") > scrolls);
        await queue.SendMessageAsync(new BackfillPage("docs", "docs_v2", ["doc-2"]).ToJson(), Ct);

        // The second page is received, read and copied while the first page's read still waits.
        await WaitForAsync(() => Texts(run, "docs_v2").ContainsKey("doc-2"));
        Assert.DoesNotContain("doc-1", Texts(run, "docs_v2").Keys);
        release.SetResult();
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(["doc-1", "doc-2"], Texts(run, "docs_v2").Keys.Order(StringComparer.Ordinal));
    }

    private static Task WaitForAsync(Func<bool> condition) =>
        Eventually.HoldsAsync(condition, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20), Ct);

    [Fact]
    public async Task A_page_copied_before_costs_no_embedding_and_a_source_without_text_is_refused()
    {
        await using var run = await StartAsync();
        var client = run.Qdrant.CreateClient();
        // Embedded by another model: the copy must embed it again, once.
        await client.UpsertAsync("docs_v1", [Point("doc-1", "some text", Earlier, model: "older/model")], cancellationToken: Ct);

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

    [Fact]
    public async Task A_change_recorded_before_the_switch_and_copied_after_it_reaches_the_new_collection()
    {
        await using var run = await StartAsync();
        var client = run.Qdrant.CreateClient();
        // A live change written to the source just before the switch; its page is worked on just after.
        await client.UpsertAsync("docs_v1", [Point("doc-1", "changed just before the switch", Later)], cancellationToken: Ct);
        await client.UpsertAsync("docs_v2", [Point("doc-1", "copied earlier", Earlier)], cancellationToken: Ct);
        await SwitchAsync(client);

        await CopyAsync(run, new BackfillPage("docs", "docs_v2", ["doc-1"], "docs_v1"));

        Assert.Equal("changed just before the switch", Texts(run, "docs_v2")["doc-1"]);
    }

    [Fact]
    public async Task After_the_switch_a_late_page_neither_brings_back_a_deleted_document_nor_removes_a_new_one()
    {
        await using var run = await StartAsync();
        var client = run.Qdrant.CreateClient();
        await client.UpsertAsync("docs_v1", [Point("doc-1", "deleted after the switch", Earlier), Point("doc-3", "deleted before the switch", Earlier)], cancellationToken: Ct);
        await client.UpsertAsync("docs_v2", [Point("doc-1", "deleted after the switch", Earlier), Point("doc-3", "deleted before the switch", Earlier)], cancellationToken: Ct);
        // Live jobs without versions: doc-3 deleted in the source before the switch, doc-1 deleted and doc-2
        // created in the new collection after it.
        await run.SendAndWaitAsync(StandInPipelineRun.Delete("doc-3", null), Ct);
        await SwitchAsync(client);
        await run.SendAndWaitAsync(StandInPipelineRun.Delete("doc-1", null), Ct);
        await run.SendAndWaitAsync(StandInPipelineRun.Upsert("doc-2", null, "created after the switch"), Ct);

        await CopyAsync(run, new BackfillPage("docs", "docs_v2", ["doc-1", "doc-2", "doc-3"], "docs_v1"));

        var target = Texts(run, "docs_v2");
        Assert.False(target.ContainsKey("doc-1"), "a document deleted after the switch came back from the old collection");
        Assert.Equal("created after the switch", target["doc-2"]);
        Assert.False(target.ContainsKey("doc-3"), "a document deleted from the source before the switch stayed in the new collection");
        Assert.Equal(0, await QueueAssertions.CountAsync(BackfillPoison(run), Ct));
    }

    [Fact]
    public async Task A_copy_of_an_older_state_that_lands_after_a_newer_one_leaves_none_of_its_chunks()
    {
        await using var run = await StartAsync();
        var client = run.Qdrant.CreateClient();
        // The page read three chunks; meanwhile a copy of a later, shorter state landed in the target.
        await client.UpsertAsync("docs_v1", [Point("doc-1", "older first", Earlier, 0, 3), Point("doc-1", "older second", Earlier, 1, 3), Point("doc-1", "older third", Earlier, 2, 3)], cancellationToken: Ct);
        await client.UpsertAsync("docs_v2", [Point("doc-1", "newer and shorter", Later)], cancellationToken: Ct);

        await CopyAsync(run, new BackfillPage("docs", "docs_v2", ["doc-1"], "docs_v1"));

        var point = Assert.Single(run.Qdrant.Store.Points("docs_v2"));
        Assert.Equal("newer and shorter", point.Payload[PayloadFields.Text].StringValue);
    }

    [Fact]
    public async Task A_recorded_change_names_the_collection_the_alias_points_to()
    {
        await using var run = await StartAsync(backfillEnabled: false);

        await run.SendAndWaitAsync(StandInPipelineRun.Upsert("doc-1", null, "a live change"), Ct);

        var page = Assert.Single(await QueueAssertions.DrainAsync(BackfillQueue(run), Ct));
        Assert.Equal("docs", page.GetProperty("alias").GetString());
        Assert.Equal("docs_v1", page.GetProperty("source").GetString());
        Assert.Equal("docs_v2", page.GetProperty("target").GetString());
    }

    [Theory]
    [InlineData("hr_private", "docs_v2", null, "'hr_private' is not a collection this worker writes")]
    [InlineData("docs", "hr_private", "docs_v1", "target 'hr_private' is neither the running backfill's")]
    [InlineData("docs", "docs_v2", "hr_private", "source 'hr_private' is neither what 'docs' points to")]
    public async Task A_forged_page_is_poisoned_with_the_reason_and_copies_or_deletes_nothing(string alias, string target, string? source, string reason)
    {
        // Anyone holding the storage credential can write the backfill queue. Before, such a page copied another
        // team's collection, text included, into the served one, or deleted documents there.
        await using var run = await StartAsync();
        var client = run.Qdrant.CreateClient();
        await client.UpsertAsync("hr_private", [Point("salary-1", "confidential", Earlier)], cancellationToken: Ct);
        await client.UpsertAsync("docs_v1", [Point("doc-1", "served", Earlier)], cancellationToken: Ct);
        await client.UpsertAsync("docs_v2", [Point("doc-1", "served", Earlier)], cancellationToken: Ct);

        await CopyAsync(run, new BackfillPage(alias, target, ["salary-1", "doc-1"], source));

        var poisoned = Assert.Single(await QueueAssertions.DrainAsync(BackfillPoison(run), Ct));
        Assert.Contains(reason, poisoned.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(["doc-1"], Texts(run, "docs_v2").Keys);
        Assert.Equal(["salary-1"], Texts(run, "hr_private").Keys);
        Assert.Equal(0, run.InputsEmbedded);
    }

    [Fact]
    public async Task With_a_page_key_an_unsigned_page_is_poisoned_and_a_signed_one_is_copied()
    {
        await using var run = await StartAsync(pageKey: "a-secret-of-the-deployment");
        var client = run.Qdrant.CreateClient();
        await client.UpsertAsync("docs_v1", [Point("doc-1", "some text", Earlier)], cancellationToken: Ct);
        var page = new BackfillPage("docs", "docs_v2", ["doc-1"], "docs_v1");

        await CopyAsync(run, page);
        var poisoned = Assert.Single(await QueueAssertions.DrainAsync(BackfillPoison(run), Ct));
        Assert.Contains("not signed with Backfill:PageKey", poisoned.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(run.Qdrant.Store.Points("docs_v2"));

        await CopyAsync(run, PageSignature.Sign(page with { Ids = ["doc-1"] }, "a-secret-of-the-deployment"));
        Assert.Equal("some text", Texts(run, "docs_v2")["doc-1"]);
    }

    /// <summary>
    /// The worker with the alias <c>docs</c> → <c>docs_v1</c>, a backfill of it running into an empty <c>docs_v2</c>
    /// (the marker <c>docs_next</c>), and another team's collection <c>hr_private</c> beside them.
    /// </summary>
    private async Task<StandInPipelineRun> StartAsync(bool backfillEnabled = true, string? pageKey = null)
    {
        var run = await StandInPipelineRun.StartAsync(azurite, "docs", Ct, s =>
        {
            s["Queue:MaxPollingInterval"] = "00:00:00.200";
            s["Embeddings:Model"] = Model;
            s["Backfill:Enabled"] = backfillEnabled ? "true" : "false";
            s["Backfill:PageKey"] = pageKey;
        });
        var client = run.Qdrant.CreateClient();
        foreach (var name in new[] { "docs_v1", "docs_v2", "hr_private" })
        {
            await client.CreateCollectionAsync(name, new VectorParams { Size = 8, Distance = Distance.Cosine }, cancellationToken: Ct);
        }
        await client.CreateAliasAsync("docs", "docs_v1", cancellationToken: Ct);
        await client.CreateAliasAsync("docs_next", "docs_v2", cancellationToken: Ct);
        return run;
    }

    /// <summary>The switch as the backfill command makes it.</summary>
    private static async Task SwitchAsync(Qdrant.Client.QdrantClient client) =>
        await client.UpdateAliasesAsync(
        [
            new AliasOperations { DeleteAlias = new DeleteAlias { AliasName = "docs" } },
            new AliasOperations { CreateAlias = new CreateAlias { AliasName = "docs", CollectionName = "docs_v2" } },
            new AliasOperations { DeleteAlias = new DeleteAlias { AliasName = "docs_next" } },
            new AliasOperations { CreateAlias = new CreateAlias { AliasName = "docs_previous", CollectionName = "docs_v1" } },
        ], cancellationToken: Ct);

    private static Dictionary<string, string> Texts(StandInPipelineRun run, string collection) =>
        run.Qdrant.Store.Points(collection).ToDictionary(p => p.Payload[PayloadFields.DocumentId].StringValue, p => p.Payload[PayloadFields.Text].StringValue);

    private QueueClient BackfillQueue(StandInPipelineRun run) => azurite.Queue(run.Queue.Name + "-backfill");

    private QueueClient BackfillPoison(StandInPipelineRun run) => azurite.Queue(run.Queue.Name + "-backfill-poison");

    private async Task CopyAsync(StandInPipelineRun run, BackfillPage page)
    {
        var queue = BackfillQueue(run);
        await queue.CreateIfNotExistsAsync(cancellationToken: Ct);
        await queue.SendMessageAsync(page.ToJson(), Ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);
    }

    private static PointStruct Point(string documentId, string text, DateTimeOffset writtenAt, int index = 0, int count = 1, string model = Model)
    {
        var point = new PointStruct { Id = new PointId { Uuid = PointIds.For("docs", documentId, index).ToString() }, Vectors = FakeEmbeddingServer.VectorFor(text, 8) };
        point.Payload[PayloadFields.DocumentId] = documentId;
        point.Payload[PayloadFields.ChunkIndex] = index;
        point.Payload[PayloadFields.ChunkCount] = count;
        point.Payload[PayloadFields.Text] = text;
        point.Payload[PayloadFields.ContentHash] = ContentHash.Of(model, text);
        point.Payload[PayloadFields.Model] = model;
        point.Payload[PayloadFields.EmbeddedAt] = writtenAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return point;
    }
}
