using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// The <c>backfill</c> command with a running worker (Azurite, the loopback endpoint, the Qdrant STAND-IN): the
/// collection behind the alias is re-embedded into a new one through the backfill queue, live changes made
/// meanwhile end up in it, the alias is switched atomically, and a second run resumes without embedding twice.
/// </summary>
public sealed class BackfillEndToEndTests(AzuriteFixture azurite)
{
    private const string Alias = "documents";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_backfill_copies_every_document_with_the_live_changes_made_meanwhile_and_switches_the_alias()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(24);
        var inputsBefore = run.InputsEmbedded;

        var (copied, copyOutput) = await run.BackfillAsync("--no-switch", "--force");
        Assert.True(copied == 0, copyOutput);
        // Same model and size (--force rebuilds an up-to-date collection): every vector is copied from the source, in
        // copy pages of four pages' worth of documents (Backfill:PageSize is 4 here), a quarter of the queue's calls.
        Assert.Contains("-backfill in 2 pages of up to 16;", copyOutput, StringComparison.Ordinal);
        Assert.Equal(inputsBefore, run.InputsEmbedded);
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));

        // Live changes while the backfill runs (its marker alias is there): an update, a delete, a new document.
        // The worker writes them through the alias into the old collection and records them for the backfill.
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-03", text = "Changed while the backfill ran: the pump now needs a new impeller." }));
        await run.SendAsync("""{"id":"doc-05","op":"delete"}""");
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-new", text = "A document published while the backfill ran." }));
        await run.WaitUntilSettledAsync();
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));
        Assert.Contains(run.Texts("documents_v2").Values, text => text.Contains("new impeller", StringComparison.Ordinal));
        Assert.DoesNotContain(run.Qdrant.Store.Points("documents_v2"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-05");
        Assert.Contains(run.Qdrant.Store.Points("documents_v2"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-new");

        var (code, output) = await run.BackfillAsync();

        TestContext.Current.TestOutputHelper?.WriteLine(output);
        Assert.True(code == 0, output);
        // Bulk mode: built without an index, which is enabled (and waited for) before the recall check and the switch.
        Assert.Equal([0UL, 16UL], run.Qdrant.Store.Collection("documents_v2").HnswMHistory);
        Assert.Equal(0, run.Qdrant.Store.Collection("documents_v2").IndexingReports); // it asked until the collection was green
        Assert.Matches(@"Building the index of documents_v2 \(HNSW m=16[^\n]*\n(.*\n)*Recall check: (\d+) of \2 sampled chunks found themselves[^\n]*\n(.*\n)*Switched documents to documents_v2 \(was documents_v1, now also documents_previous\)", output);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal("documents_v1", run.Qdrant.Store.Aliases["documents_previous"]);
        Assert.DoesNotContain("documents_next", run.Qdrant.Store.Aliases.Keys);
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));
        Assert.All(run.Qdrant.Store.Points("documents_v2"), p => Assert.Equal(FakeEmbeddingServer.VectorFor(p.Payload[PayloadFields.Text].StringValue, 8), p.Vector));

        // After the switch, live jobs write through the alias into the new collection.
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-after", text = "Written after the switch." }));
        await run.WaitUntilSettledAsync();
        Assert.Contains(run.Qdrant.Store.Points("documents_v2"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-after");
        Assert.DoesNotContain(run.Qdrant.Store.Points("documents_v1"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-after");
    }

    [Fact]
    public async Task A_second_run_resumes_the_backfill_that_runs_and_embeds_nothing_twice()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(12);

        var (first, firstOutput) = await run.BackfillAsync("--no-switch", "--force");
        Assert.True(first == 0, firstOutput);
        Assert.Equal("documents_v1", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases["documents_next"]);
        var inputsAfterCopy = run.InputsEmbedded;
        var (_, status) = await run.CliAsync("status");
        Assert.Contains("collection documents → documents_v1: ", status, StringComparison.Ordinal);
        Assert.Contains("model test/e5-like, 8 dimensions, text", status, StringComparison.Ordinal);
        var chunks = run.Qdrant.Store.Points("documents_v1").Count;
        // Same model and size: every vector is copied, so the progress counts no tokens (the enqueue read no texts).
        Assert.Matches($@"backfill into documents_v2 runs: (\d+) of \1 pages done \(100 %\), {chunks} of {chunks} chunks in the target, vectors copied from the source, \d+ s so far, ETA done", status);

        var (second, secondOutput) = await run.BackfillAsync();

        Assert.True(second == 0, secondOutput);
        Assert.Contains("Resuming the backfill of documents (documents_v1) into documents_v2", secondOutput, StringComparison.Ordinal);
        // Nothing is embedded again for the copy; only the recall check's sample is.
        var sampled = Figure(secondOutput, @"Recall check: \d+ of (\d+) sampled");
        Assert.Equal(inputsAfterCopy + sampled, run.InputsEmbedded);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));
    }

    [Fact]
    public async Task Counts_that_differ_while_a_live_change_is_still_on_its_way_are_counted_again_until_they_agree_and_a_lasting_difference_stops_the_backfill()
    {
        // Seen in MigrationHistoryTests: three counts a few milliseconds apart stopped a backfill whose live change (a
        // replica killed between its write and its record for the backfill) was still coming back.
        await using var run = await Run.StartAsync(azurite, settings => settings["Queue:VisibilityTimeout"] = "00:00:03");
        await run.SeedAsync(8);
        var (copied, copyOutput) = await run.BackfillAsync("--no-switch", "--force");
        Assert.True(copied == 0, copyOutput);
        // What a killed replica leaves: the change written to the served collection, not yet recorded for the backfill.
        // (Its first chunk is not there yet, so the resumed run's enqueue, which pages by first chunks, does not see it.)
        var text = string.Join("\n\n", Enumerable.Range(0, 4).Select(p => $"Part {p} of a document written just before its replica was killed, with enough words to fill a chunk."));
        Upsert(run, "documents_v1", "doc-late", 1, "Part 1 of a document written just before its replica was killed.");

        var counted = run.Qdrant.Store.Calls.GetValueOrDefault("Count/points");
        var backfill = run.BackfillAsync();
        while (run.Qdrant.Store.Calls.GetValueOrDefault("Count/points") < counted + 2 && !backfill.IsCompleted)
        {
            await Task.Delay(10, Ct);
        }
        // Its job comes back after the lease and is written again, this time recorded.
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-late", text }));
        var (code, output) = await backfill;

        Assert.True(code == 0, output);
        var first = System.Text.RegularExpressions.Regex.Match(output, @"documents \(documents_v1\) holds (\d+) points, documents_v2 holds (\d+)\.");
        Assert.True(first.Success && first.Groups[1].Value != first.Groups[2].Value, output);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
        Assert.Contains(run.Qdrant.Store.Points("documents_v2"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-late");

        // A point put in by hand, which no job records: the counts never agree, and the backfill stops after two leases.
        var (next, nextOutput) = await run.BackfillAsync("--no-switch", "--force");
        Assert.True(next == 0, nextOutput);
        Upsert(run, "documents_v3", "doc-by-hand", 0, "Put in by hand.");
        var started = DateTimeOffset.UtcNow;
        var (stopped, stoppedOutput) = await run.BackfillAsync();
        Assert.Equal(1, stopped);
        Assert.Contains("Backfill stopped: the two collections still differ", stoppedOutput, StringComparison.Ordinal);
        Assert.InRange(DateTimeOffset.UtcNow - started, TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(50));
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
    }

    /// <summary>A point written straight into <paramref name="collection"/>, as the worker would write the document's chunk <paramref name="index"/>.</summary>
    private static void Upsert(Run run, string collection, string documentId, int index, string text) =>
        run.Qdrant.Store.Upsert(new Qdrant.Client.Grpc.UpsertPoints
        {
            CollectionName = collection,
            Points =
            {
                new Qdrant.Client.Grpc.PointStruct
                {
                    Id = new Qdrant.Client.Grpc.PointId { Uuid = PointIds.For(Alias, documentId, index).ToString() },
                    Vectors = FakeEmbeddingServer.VectorFor(text, 8),
                    Payload = { [PayloadFields.DocumentId] = documentId, [PayloadFields.ChunkIndex] = index, [PayloadFields.Text] = text },
                },
            },
        });

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_switch_that_fails_at_any_step_leaves_the_alias_serving_and_the_next_run_completes_it(int failingStep)
    {
        // Qdrant applies an alias update step by step and keeps the steps before a failing one (issue 28).
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(8);
        var (copied, copyOutput) = await run.BackfillAsync("--no-switch", "--force");
        Assert.True(copied == 0, copyOutput);
        var served = run.Texts("documents_v1");

        run.Qdrant.Store.FailNextAliasUpdateAt(failingStep);
        var (failed, failedOutput) = await run.BackfillAsync();

        Assert.True(failed != 0, failedOutput);
        Assert.True(run.Qdrant.Store.Aliases.TryGetValue(Alias, out var serving), "the alias is never missing");
        Assert.Equal(served, run.Texts(serving));

        var (code, output) = await run.BackfillAsync();

        Assert.True(code == 0, output);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal("documents_v1", run.Qdrant.Store.Aliases["documents_previous"]);
        Assert.DoesNotContain("documents_next", run.Qdrant.Store.Aliases.Keys);
    }

    [Fact]
    public async Task A_target_whose_vectors_do_not_fit_its_texts_fails_the_recall_check_and_is_not_switched()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(24);
        // The source's vectors no longer fit its texts (as if a faulty endpoint had made them): a copy with the same
        // model takes them as they are.
        foreach (var point in run.Qdrant.Store.Points("documents_v1"))
        {
            FakeEmbeddingServer.VectorFor("unrelated " + point.Payload[PayloadFields.Text].StringValue, 8).CopyTo(point.Vector, 0);
        }

        var (code, output) = await run.BackfillAsync("--force");

        Assert.True(code == 1, output);
        // Every chunk is sampled (the collection is smaller than Backfill:VerifySample); of 40-odd, a few are among a
        // wrong vector's 10 nearest by chance.
        var figures = System.Text.RegularExpressions.Regex.Match(output, @"Recall check: (\d+) of (\d+) sampled chunks found themselves among their 10 nearest \([\d.]+ %; Backfill:MinSelfHitRate is 99\.0 %\)");
        Assert.True(figures.Success, output);
        Assert.Equal(run.Qdrant.Store.Points("documents_v2").Count, int.Parse(figures.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(int.Parse(figures.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 2 < run.Qdrant.Store.Points("documents_v2").Count, output);
        Assert.Contains("Backfill stopped: recall is below Backfill:MinSelfHitRate; the alias is not switched. Not found: doc-", output, StringComparison.Ordinal);
        Assert.Equal("documents_v1", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases["documents_next"]);
    }

    [Fact]
    public async Task A_backfill_moves_the_collection_to_new_quantization_and_switches_after_the_recall_check()
    {
        await using var run = await Run.StartAsync(azurite, settings => settings["Qdrant:Quantization"] = "None");
        await run.SeedAsync(8);
        run.Settings["Qdrant:Quantization"] = "Scalar";
        run.Settings["Backfill:VerifySample"] = "5";

        var (code, output) = await run.BackfillAsync();

        Assert.True(code == 0, output);
        Assert.Null(run.Qdrant.Store.Collection("documents_v1").Config.QuantizationConfig);
        Assert.Equal(Qdrant.Client.Grpc.QuantizationType.Int8, run.Qdrant.Store.Collection("documents_v2").Config.QuantizationConfig.Scalar.Type);
        Assert.Contains("Recall check: 5 of 5 sampled chunks found themselves", output, StringComparison.Ordinal);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
    }

    [Fact]
    public async Task A_backfill_moves_a_plain_collection_to_BM25_beside_the_dense_vectors_and_live_writes_follow_the_switch()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(8);
        run.Settings["Qdrant:Bm25"] = "german"; // the command's settings; the running worker still has none

        var (code, output) = await run.BackfillAsync();

        Assert.True(code == 0, output);
        var config = run.Qdrant.Store.Collection("documents_v2").Config;
        Assert.Equal(8UL, config.Params.VectorsConfig.ParamsMap.Map["dense"].Size);
        Assert.Equal(Qdrant.Client.Grpc.Modifier.Idf, config.Params.SparseVectorsConfig.Map["bm25"].Modifier);
        Assert.Equal("german", config.Metadata["bm25_language"].StringValue);
        Assert.All(run.Qdrant.Store.Points("documents_v2"), p => Assert.NotEmpty(p.Sparse["bm25"]));
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));

        // The worker learns the new shape from the collection when its first write after the switch is refused.
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-after", text = "Dichtungssatz SK-4711 nach der Umstellung." }));
        await run.WaitUntilSettledAsync();
        var after = Assert.Single(run.Qdrant.Store.Points("documents_v2"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-after");
        Assert.Contains("sk", after.Sparse["bm25"].Keys);
        var (searched, searchOutput) = await run.CliAsync("search", "SK-4711");
        Assert.True(searched == 0, searchOutput);
        Assert.Contains("(dense + BM25 (german), fused by rank)", searchOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unchanged_collection_is_up_to_date_a_nightly_run_embeds_and_creates_nothing_and_force_rebuilds_it()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(8);
        var requests = run.Embeddings.Requests.Count;
        var collections = run.Qdrant.Store.CollectionNames;

        var (code, output) = await run.BackfillAsync();

        Assert.True(code == 0, output);
        Assert.Contains("documents (documents_v1) is up to date: a backfill would build the same collection (test/e5-like", output, StringComparison.Ordinal);
        Assert.Equal(requests, run.Embeddings.Requests.Count);
        Assert.Equal(collections, run.Qdrant.Store.CollectionNames);
        Assert.Equal("documents_v1", run.Qdrant.Store.Aliases[Alias]);

        var (forced, forcedOutput) = await run.BackfillAsync("--force");

        Assert.True(forced == 0, forcedOutput);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));
        // Rebuilt from the source's vectors: only the recall check's sample went to the endpoint.
        Assert.Equal(requests + 1, run.Embeddings.Requests.Count);
    }

    [Fact]
    public async Task A_layout_only_migration_sends_only_the_recall_sample_to_the_endpoint_and_records_the_model()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(16);
        var inputs = run.InputsEmbedded;
        run.Settings["Qdrant:HnswM"] = "32";
        run.Settings["Backfill:VerifySample"] = "5";
        var vectorReads = run.Qdrant.Store.Calls.GetValueOrDefault("Get+vectors/points");

        var (code, output) = await run.BackfillAsync();

        Assert.True(code == 0, output);
        Assert.Contains("differs from what a backfill builds now: HNSW m 16 → 32", output, StringComparison.Ordinal);
        Assert.Equal(inputs + 5, run.InputsEmbedded);
        // Each chunk's vector comes with its text and hash in the page's one read of the source: none is read again.
        Assert.Equal(vectorReads, run.Qdrant.Store.Calls.GetValueOrDefault("Get+vectors/points"));
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));
        Assert.All(run.Qdrant.Store.Points("documents_v2"), p => Assert.Equal(FakeEmbeddingServer.VectorFor(p.Payload[PayloadFields.Text].StringValue, 8), p.Vector));
        var metadata = run.Qdrant.Store.Collection("documents_v2").Config.Metadata;
        Assert.Equal("test/e5-like", metadata["embedding_model"].StringValue);
        Assert.Equal(8, metadata["embedding_vector_size"].IntegerValue);
        Assert.Equal("text", metadata["embedding_modality"].StringValue);
        Assert.Equal("test/e5-like", run.Qdrant.Store.Collection("documents_v1").Config.Metadata["embedding_model"].StringValue);
    }

    [Fact]
    public async Task After_a_switch_collections_older_than_the_kept_previous_are_deleted_and_abort_removes_a_running_backfill()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(4);
        Assert.Equal(0, (await run.BackfillAsync("--force")).Code);
        Assert.Equal(0, (await run.BackfillAsync("--force")).Code);
        Assert.Equal(["documents_v2", "documents_v3"], run.Qdrant.Store.CollectionNames.Where(c => !c.EndsWith("_tombstones", StringComparison.Ordinal)));
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases["documents_previous"]);

        run.Settings["Backfill:KeepPrevious"] = "2";
        Assert.Equal(0, (await run.BackfillAsync("--force")).Code);
        Assert.Equal(["documents_v2", "documents_v3", "documents_v4"], run.Qdrant.Store.CollectionNames.Where(c => !c.EndsWith("_tombstones", StringComparison.Ordinal)));

        // A page still queued could name an older collection: a night with nothing to do keeps it until none is.
        run.Settings["Backfill:KeepPrevious"] = "1";
        var pending = await run.Backfill.SendMessageAsync("{}", visibilityTimeout: TimeSpan.FromMinutes(5), cancellationToken: Ct);
        var (kept, keptOutput) = await run.BackfillAsync();
        Assert.True(kept == 0, keptOutput);
        Assert.Contains("Backfill pages are still queued; documents_v2 are kept until a later run.", keptOutput, StringComparison.Ordinal);
        Assert.True(run.Qdrant.Store.Exists("documents_v2"));
        await run.Backfill.DeleteMessageAsync(pending.Value.MessageId, pending.Value.PopReceipt, Ct);
        var (deleted, deletedOutput) = await run.BackfillAsync();
        Assert.Contains("Deleted documents_v2: older than the 1 collection(s) kept before documents_v4", deletedOutput, StringComparison.Ordinal);
        Assert.Equal(["documents_v3", "documents_v4"], run.Qdrant.Store.CollectionNames.Where(c => !c.EndsWith("_tombstones", StringComparison.Ordinal)));
        Assert.Equal(0, deleted);

        var (copied, copyOutput) = await run.BackfillAsync("--force", "--no-switch");
        Assert.True(copied == 0, copyOutput);
        Assert.Equal("documents_v5", run.Qdrant.Store.Aliases["documents_next"]);
        var (aborted, abortOutput) = await run.CliAsync("backfill", "--abort");

        Assert.True(aborted == 0, abortOutput);
        Assert.Contains("removed documents_next and deleted documents_v5", abortOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("documents_next", run.Qdrant.Store.Aliases.Keys);
        Assert.False(run.Qdrant.Store.Exists("documents_v5"));
        Assert.Equal("documents_v4", run.Qdrant.Store.Aliases[Alias]);
    }

    [Fact]
    public async Task A_migration_to_a_model_of_another_size_never_mixes_models_in_a_collection_and_live_work_follows_the_switch()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(8);

        var (copied, copyOutput) = await run.BackfillAsync("--model", "other/model", "--dimensions", "4", "--no-switch");

        Assert.True(copied == 0, copyOutput);
        Assert.Contains("model test/e5-like, 8 dimensions, text → other/model, 4 dimensions (dimensions=4), text", copyOutput, StringComparison.Ordinal);
        // Live changes while it runs: written to the served collection with its own model, copied with the target's.
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-03", text = "Changed while the migration ran: a new impeller." }));
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-new", text = "Published while the migration ran." }));
        await run.WaitUntilSettledAsync();
        AssertOneModel(run, "documents_v1", "test/e5-like", 8);
        AssertOneModel(run, "documents_v2", "other/model", 4);
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));

        // Resumed without --model: the running target's record names the model, which the recall check uses.
        var (code, output) = await run.BackfillAsync();

        Assert.True(code == 0, output);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
        Assert.Contains(run.Embeddings.Requests, r => r.Model == "other/model" && r.Body.Contains("\"dimensions\":4", StringComparison.Ordinal));

        // After the switch a replica configured with the old model writes the new collection with the new one.
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-after", text = "Written after the switch." }));
        await run.WaitUntilSettledAsync();
        AssertOneModel(run, "documents_v2", "other/model", 4);
        Assert.Contains(run.Qdrant.Store.Points("documents_v2"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-after");
        var (_, status) = await run.CliAsync("status");
        Assert.Contains("model other/model, 4 dimensions (dimensions=4), text; configured test/e5-like: a backfill is pending", status, StringComparison.Ordinal);
        var (searched, searchOutput) = await run.CliAsync("search", "impeller");
        Assert.True(searched == 0, searchOutput);
        Assert.Equal("other/model", run.Embeddings.Requests.Last().Model); // the query, embedded with the collection's model
    }

    [Fact]
    public async Task The_multimodal_collection_is_migrated_when_its_images_are_kept_and_refused_with_the_reason_when_they_are_not()
    {
        const string Png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
        await using var run = await Run.StartAsync(azurite, settings =>
        {
            settings["Embeddings:MultimodalModel"] = "test/vl-embed";
            settings["Qdrant:MultimodalCollection"] = "pictures";
            settings["Qdrant:StoreImages"] = "true";
        });
        for (var i = 0; i < 4; i++)
        {
            await run.SendAsync(JsonSerializer.Serialize(new { id = $"pic-{i}", text = $"Pump P{i} after its service.", images = new[] { Png } }));
        }
        await run.WaitUntilSettledAsync();
        var stored = run.Qdrant.Store.Points("pictures_v1");
        Assert.All(stored, p => Assert.Equal(Png, Assert.Single(p.Payload[PayloadFields.Images].ListValue.Values).StringValue));
        run.Settings["Qdrant:HnswM"] = "32";
        var multimodalBefore = run.Embeddings.Requests.Count(r => r.Images > 0);

        var (code, output) = await run.BackfillAsync("--alias", "pictures");

        Assert.True(code == 0, output);
        Assert.Equal("pictures_v2", run.Qdrant.Store.Aliases["pictures"]);
        Assert.Equal("multimodal", run.Qdrant.Store.Collection("pictures_v2").Config.Metadata["embedding_modality"].StringValue);
        var copied = run.Qdrant.Store.Points("pictures_v2").ToDictionary(p => p.Key);
        Assert.All(stored, p => Assert.Equal(p.Vector, copied[p.Key].Vector));
        Assert.All(copied.Values, p => Assert.Equal(Png, Assert.Single(p.Payload[PayloadFields.Images].ListValue.Values).StringValue));
        // Same model and size: the vectors are copied; only the recall check embeds text and images again, one by one.
        var sampled = Figure(output, @"Recall check: \d+ of (\d+) sampled");
        Assert.Equal(multimodalBefore + sampled, run.Embeddings.Requests.Count(r => r.Images > 0));

        run.Settings["Qdrant:StoreImages"] = "false";
        var (refused, refusedOutput) = await run.BackfillAsync("--alias", "pictures", "--force");
        Assert.Equal(1, refused);
        Assert.Contains("Qdrant:StoreImages is off, so their images are not kept", refusedOutput, StringComparison.Ordinal);
    }

    private static void AssertOneModel(Run run, string collection, string model, int size) =>
        Assert.All(run.Qdrant.Store.Points(collection), p =>
        {
            Assert.Equal(model, p.Payload[PayloadFields.Model].StringValue);
            Assert.Equal(size, p.Vector.Length);
        });

    [Fact]
    public async Task A_plan_counts_the_stored_documents_chunks_and_tokens_prices_them_and_writes_nothing()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(12);
        run.Settings["Embeddings:TokensPerMinute"] = "300";
        run.Settings["Embeddings:PricePerMillionTokens"] = "1000";
        var points = run.Qdrant.Store.Points("documents_v1");
        var upsertsBefore = run.Qdrant.Store.UpsertCalls;
        var (same, sameOutput) = await run.BackfillAsync("--plan");
        Assert.True(same == 0, sameOutput);
        Assert.Contains($"  reused         {points.Count} chunks: the source holds their vectors for the same model and size", sameOutput, StringComparison.Ordinal);
        Assert.Contains("  tokens         0 to embed\n", sameOutput, StringComparison.Ordinal);
        run.Settings["Embeddings:Model"] = "another/model"; // a migration: every chunk is embedded, and priced

        var (code, output) = await run.BackfillAsync("--plan");
        var (uncalibrated, uncalibratedOutput) = await run.BackfillAsync("--plan", "--no-calibrate");

        TestContext.Current.TestOutputHelper?.WriteLine(output);
        Assert.True(code == 0, output);
        Assert.Contains("Plan for a backfill of documents (documents_v1) into documents_v2; nothing was written.", output, StringComparison.Ordinal);
        Assert.Contains("  documents      12\n", output, StringComparison.Ordinal);
        Assert.Contains($"  chunks         {points.Count}\n", output, StringComparison.Ordinal);
        // Calibrated on a sample (here: every chunk), the estimate is the endpoint's count give or take a token a chunk.
        var counted = points.Sum(p => FakeEmbeddingServer.CountTokens(p.Payload[PayloadFields.Text].StringValue));
        var tokens = Figure(output, @"tokens\s+~([\d,]+) \([\d.]+ tokens a byte, as the endpoint counted");
        Assert.InRange(tokens, counted, counted + points.Count);
        Assert.Contains($"  cost           ~{tokens / 1000.0:N2} at 1,000.00 per million tokens", output, StringComparison.Ordinal);
        Assert.Matches($@"  duration       at least {(int)Math.Ceiling(tokens / 300.0)} min at the budget of \S+ \(300 tokens a minute", output);

        Assert.True(uncalibrated == 0, uncalibratedOutput);
        Assert.Equal(points.Sum(p => (long)Math.Ceiling(System.Text.Encoding.UTF8.GetByteCount(p.Payload[PayloadFields.Text].StringValue) / 3.0) + 1),
            Figure(uncalibratedOutput, @"tokens\s+~([\d,]+) \(uncalibrated upper bound"));

        // Nothing written: no target, no marker, no backfill queue, no point.
        Assert.False(run.Qdrant.Store.Exists("documents_v2"));
        Assert.DoesNotContain("documents_next", run.Qdrant.Store.Aliases.Keys);
        Assert.False(await azurite.Queue(run.QueueName + "-backfill").ExistsAsync(Ct));
        Assert.Equal(upsertsBefore, run.Qdrant.Store.UpsertCalls);
    }

    private static long Figure(string output, string pattern)
    {
        var match = System.Text.RegularExpressions.Regex.Match(output, pattern);
        Assert.True(match.Success, output);
        return long.Parse(match.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_plain_collection_or_a_missing_alias_is_refused_with_the_reason()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.Qdrant.CreateClient().CreateCollectionAsync("legacy", new Qdrant.Client.Grpc.VectorParams { Size = 8, Distance = Qdrant.Client.Grpc.Distance.Cosine }, cancellationToken: Ct);

        var (plain, plainOutput) = await run.BackfillAsync("--alias", "legacy");
        var (missing, missingOutput) = await run.BackfillAsync("--alias", "nothing-here");

        Assert.Equal(1, plain);
        Assert.Contains("'legacy' is a collection, not an alias", plainOutput, StringComparison.Ordinal);
        Assert.Equal(1, missing);
        Assert.Contains("there is no alias 'nothing-here'", missingOutput, StringComparison.Ordinal);
    }

    private sealed class Run : IAsyncDisposable
    {
        private readonly IHost _host;
        private readonly QueueClient _queue;
        private readonly QueueClient _backfill;

        private Run(FakeEmbeddingServer embeddings, QdrantStandInServer qdrant, IHost host, QueueClient queue, QueueClient backfill, Dictionary<string, string?> settings)
        {
            Embeddings = embeddings;
            Qdrant = qdrant;
            _host = host;
            _queue = queue;
            _backfill = backfill;
            Settings = settings;
        }

        public FakeEmbeddingServer Embeddings { get; }

        public QdrantStandInServer Qdrant { get; }

        /// <summary>The worker's settings; the commands read them as they are when they run.</summary>
        public Dictionary<string, string?> Settings { get; }

        public int InputsEmbedded => Embeddings.Requests.Sum(r => r.Inputs.Count);

        public string QueueName => _queue.Name;

        public QueueClient Backfill => _backfill;

        public static async Task<Run> StartAsync(AzuriteFixture azurite, Action<Dictionary<string, string?>>? configure = null)
        {
            var embeddings = await FakeEmbeddingServer.StartAsync();
            var qdrant = await QdrantStandInServer.StartAsync();
            var queueName = AzuriteFixture.UniqueQueueName("bf");
            var queue = azurite.Queue(queueName);
            await queue.CreateAsync(cancellationToken: Ct);
            var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Alias);
            settings["Chunking:MaxChunkTokens"] = "48";
            settings["Chunking:OverlapTokens"] = "8";
            settings["Backfill:MarkerRefresh"] = "00:00:01";
            settings["Backfill:PageSize"] = "4";
            configure?.Invoke(settings);
            var host = WorkerHost.Build(settings);
            await host.StartAsync(Ct);
            return new Run(embeddings, qdrant, host, queue, azurite.Queue(queueName + "-backfill"), settings);
        }

        public async Task SeedAsync(int documents)
        {
            for (var i = 0; i < documents; i++)
            {
                var text = i % 4 == 0
                    ? string.Join("\n\n", Enumerable.Range(0, 4).Select(p => $"Document {i}, part {p}: the service manual of pump P{i} lists step {p} of its overhaul in detail."))
                    : $"Document {i} describes pump P{i} and its maintenance interval of {i % 12 + 1} months.";
                await SendAsync(JsonSerializer.Serialize(new { id = $"doc-{i:D2}", text, title = $"Pump {i}" }));
            }
            await WaitUntilSettledAsync();
        }

        public Task SendAsync(string body) => _queue.SendMessageAsync(body, Ct);

        public async Task WaitUntilSettledAsync()
        {
            await QueueAssertions.WaitUntilEmptyAsync(_queue, TimeSpan.FromSeconds(60), Ct);
            if (await _backfill.ExistsAsync(Ct))
            {
                await QueueAssertions.WaitUntilEmptyAsync(_backfill, TimeSpan.FromSeconds(60), Ct);
            }
        }

        public Task<(int Code, string Output)> BackfillAsync(params string[] options) =>
            CliAsync(["backfill", "--poll", "00:00:00.200", "--timeout", "00:01:00", .. options]);

        public async Task<(int Code, string Output)> CliAsync(params string[] args)
        {
            var (code, output, error) = await WorkerHost.RunCommandAsync(Settings, Ct, args);
            return (code, output + error);
        }

        /// <summary>Point id → text of a collection, for comparing two of them.</summary>
        public SortedDictionary<string, string> Texts(string collection) =>
            new(Qdrant.Store.Points(collection).ToDictionary(p => p.Key, p => p.Payload[PayloadFields.Text].StringValue), StringComparer.Ordinal);

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync(CancellationToken.None);
            _host.Dispose();
            await Qdrant.DisposeAsync();
            await Embeddings.DisposeAsync();
        }
    }
}
