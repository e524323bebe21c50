using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;
using static Stackit.EmbeddingWorker.Tests.Infrastructure.StandInPipelineRun;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// Jobs of one document in flight together on one replica (Azurite, the loopback endpoint, the Qdrant STAND-IN):
/// the replica never reorders them, whatever the endpoint's latency.
/// </summary>
public sealed class OrderingEndToEndTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";
    private const string ParagraphA = "Pump P1 needs new seals every six months; check the shaft for wear and replace the bearings.";
    private const string ParagraphB = "The valve block of model V7 is cleaned with warm water only, never with solvents or abrasives.";
    private const string ParagraphC = "Filters F2 and F3 are swapped together, after the pressure test, and logged in the service book.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(null, null)]
    [InlineData(5L, 6L)]
    public async Task A_delete_received_right_after_an_upsert_waits_for_it_and_nothing_stays_searchable(long? upsertVersion, long? deleteVersion)
    {
        await using var run = await StartAsync(azurite, Collection, Ct);
        await run.SendAndWaitAsync(Upsert("doc-1", upsertVersion - 1, ParagraphA), Ct);
        // Deletes need no endpoint; the upsert waits for a slow one. Before, the delete ran first.
        run.Embeddings.Latency = TimeSpan.FromMilliseconds(600);

        await run.Queue.SendMessageAsync(Upsert("doc-1", upsertVersion, ParagraphA, ParagraphB), Ct);
        await run.SendAndWaitAsync(Delete("doc-1", deleteVersion), Ct);

        Assert.Empty(run.Points("doc-1"));
        Assert.Equal(0, await QueueAssertions.CountAsync(run.Poison, Ct));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(1L, 2L)]
    public async Task A_job_rejected_after_some_of_its_chunks_were_stored_leaves_no_mix_of_two_versions(long? oldVersion, long? newVersion)
    {
        // One input per request, one request at a time: the new version's first chunks are stored before the
        // endpoint refuses its last one. Before, the document kept them beside the old version's last chunk.
        await using var run = await StartAsync(azurite, Collection, Ct, s =>
        {
            s["Batching:MaxInputsPerRequest"] = "1";
            s["Embeddings:MaxConcurrency"] = "1";
        });
        await run.SendAndWaitAsync(Upsert("doc-1", oldVersion, ParagraphA, ParagraphB, ParagraphC), Ct);
        run.Embeddings.RefusedMarker = "REFUSED";

        await run.SendAndWaitAsync(Upsert("doc-1", newVersion, ParagraphA + " Revised.", ParagraphB + " Revised.", "REFUSED " + ParagraphC), Ct);

        var texts = run.Points("doc-1").Select(p => p.Payload[PayloadFields.Text].StringValue).Order().ToList();
        Assert.True(texts.Count == 0 || texts.SequenceEqual(new[] { ParagraphA, ParagraphB, ParagraphC }.Order()),
            $"the document holds a mix: {string.Join(" | ", texts)}");
        var poisoned = Assert.Single(await QueueAssertions.DrainAsync(run.Poison, Ct));
        Assert.Contains("rejected chunk 2", poisoned.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_versions_in_flight_together_end_as_the_newer_one_whole()
    {
        await using var run = await StartAsync(azurite, Collection, Ct);
        await run.SendAndWaitAsync(Upsert("doc-1", 1, ParagraphB), Ct);
        run.Embeddings.Latency = TimeSpan.FromMilliseconds(300);

        // Received in this order: the newer version (1 chunk), then an older one with more chunks.
        await run.Queue.SendMessageAsync(Upsert("doc-1", 6, ParagraphC), Ct);
        await run.SendAndWaitAsync(Upsert("doc-1", 3, ParagraphA, ParagraphB, ParagraphC), Ct);

        var point = Assert.Single(run.Points("doc-1"));
        Assert.Equal(6, point.Payload[PayloadFields.Version].IntegerValue);
        Assert.Equal(0, point.Payload[PayloadFields.ChunkIndex].IntegerValue);
    }

    [Fact]
    public async Task Without_versions_the_job_received_last_wins_whole()
    {
        await using var run = await StartAsync(azurite, Collection, Ct);
        run.Embeddings.Latency = TimeSpan.FromMilliseconds(300);

        await run.Queue.SendMessageAsync(Upsert("doc-1", null, ParagraphA, ParagraphB, ParagraphC), Ct);
        await run.SendAndWaitAsync(Upsert("doc-1", null, ParagraphB), Ct);

        var point = Assert.Single(run.Points("doc-1"));
        Assert.Equal(ParagraphB, point.Payload[PayloadFields.Text].StringValue.Trim());
    }

    [Fact]
    public async Task A_versioned_delete_is_remembered_so_an_older_upsert_delivered_later_writes_nothing()
    {
        // The history the model-based test first found: delete v14 received before upsert v13 (a redelivery, or
        // another replica's message). Before tombstones, v13 found no stored version and put the document back.
        await using var run = await StartAsync(azurite, Collection, Ct);
        await run.SendAndWaitAsync(Upsert("doc-1", 11, ParagraphA, ParagraphB), Ct);

        await run.SendAndWaitAsync(Delete("doc-1", 14), Ct);
        await run.SendAndWaitAsync(Upsert("doc-1", 13, ParagraphA, ParagraphB, ParagraphC), Ct);

        Assert.Empty(run.Points("doc-1"));
        Assert.DoesNotContain(run.Qdrant.Store.Points(Collection), p => p.Payload.ContainsKey(PayloadFields.DeletedAt));
        // One document's tombstone: its deleted version, and its last delete.
        Assert.Equal(["doc-1", "doc-1"], run.Qdrant.Store.Points(TombstoneStore.CollectionOf(Collection)).Select(p => p.Payload[PayloadFields.DocumentId].StringValue));

        await run.SendAndWaitAsync(Upsert("doc-1", 15, ParagraphC), Ct);
        Assert.Equal(15, Assert.Single(run.Points("doc-1")).Payload[PayloadFields.Version].IntegerValue);
    }
}
