using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.VectorStore;
using static Qdrant.Client.Grpc.Conditions;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>
/// What the worker needs from Qdrant, written once and run against the stand-in here and against real
/// Qdrant wherever one is reachable — which also keeps the stand-in honest.
/// </summary>
public abstract class VectorStoreContractTests
{
    private readonly string _collection = $"c{Guid.NewGuid():N}"[..16];

    protected abstract Uri? Endpoint { get; }

    /// <summary>The scrolls the server has answered so far, where it counts them (the stand-in); null on real Qdrant.</summary>
    protected virtual int? Scrolls => null;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task First_upsert_creates_the_collection_with_the_model_dimension()
    {
        var (client, writer, _) = Create();

        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "hello", Vector(4))], Ct);

        var alias = Assert.Single(await client.ListAliasesAsync(Ct), a => a.AliasName == _collection);
        Assert.Equal(_collection + "_v1", alias.CollectionName);
        var info = await client.GetCollectionInfoAsync(_collection + "_v1", Ct);
        Assert.Equal(4UL, info.Config.Params.VectorsConfig.Params.Size);
        Assert.Equal(Distance.Cosine, info.Config.Params.VectorsConfig.Params.Distance);
    }

    [Fact]
    public async Task A_new_collection_is_laid_out_as_configured_with_indexes_on_the_configured_metadata_fields()
    {
        var (client, writer, _) = Create(options =>
        {
            options.OnDiskVectors = true;
            options.Quantization = QuantizationKind.Scalar;
            options.HnswM = 32;
            options.HnswEfConstruct = 128;
            options.OnDiskPayload = true;
            options.IndexedMetadata = new() { ["tenant"] = "tenant", ["rank"] = "integer", ["lang"] = "keyword" };
        });

        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "hello", Vector(4))], Ct);

        var info = await client.GetCollectionInfoAsync(_collection + "_v1", Ct);
#pragma warning disable CS0612 // the flags the worker sends (see CollectionLayout)
        Assert.True(info.Config.Params.VectorsConfig.Params.OnDisk);
        Assert.True(info.Config.Params.OnDiskPayload);
        Assert.Equal(QuantizationType.Int8, info.Config.QuantizationConfig.Scalar.Type);
        Assert.True(info.Config.QuantizationConfig.Scalar.AlwaysRam);
#pragma warning restore CS0612
        Assert.Equal(32UL, info.Config.HnswConfig.M);
        Assert.Equal(128UL, info.Config.HnswConfig.EfConstruct);
        Assert.Equal(1U, info.Config.Params.ShardNumber);
        Assert.Equal(PayloadSchemaType.Keyword, info.PayloadSchema["doc_id"].DataType);
        Assert.Equal(PayloadSchemaType.Integer, info.PayloadSchema["chunk_index"].DataType);
        Assert.Equal(PayloadSchemaType.Integer, info.PayloadSchema["metadata.rank"].DataType);
        Assert.Equal(PayloadSchemaType.Keyword, info.PayloadSchema["metadata.lang"].DataType);
        Assert.Equal(PayloadSchemaType.Keyword, info.PayloadSchema["metadata.tenant"].DataType);
        Assert.True(info.PayloadSchema["metadata.tenant"].Params.KeywordIndexParams.IsTenant);
    }

    [Fact]
    public async Task With_Bm25_a_collection_holds_a_named_dense_vector_and_an_idf_bm25_vector_that_qdrant_makes_from_the_text()
    {
        var (client, writer, _) = Create(options => options.Bm25 = "english");
        var reader = CreateReader();

        await writer.UpsertAsync(_collection, [
            Embedded("doc-1", 0, 1, "Replace the impeller of pump P-4711 after 8000 hours.", Vector(4, 0)),
            Embedded("doc-2", 0, 1, "Check the oil level of the pump every month.", Vector(4, 1)),
            Embedded("doc-3", 0, 1, "The valve closes when the pressure drops.", Vector(4, 2)),
        ], Ct);

        var info = await client.GetCollectionInfoAsync(_collection + "_v1", Ct);
        Assert.Equal(4UL, info.Config.Params.VectorsConfig.ParamsMap.Map["dense"].Size);
        Assert.Equal(Modifier.Idf, info.Config.Params.SparseVectorsConfig.Map["bm25"].Modifier);
        var byTerm = await client.QueryAsync(_collection, query: new Document { Text = "impeller", Model = "qdrant/bm25", Options = { ["language"] = "english" } }, usingVector: "bm25", limit: 3, cancellationToken: Ct);
        Assert.Equal(PointIds.For(_collection, "doc-1", 0).ToString(), Assert.Single(byTerm).Id.Uuid);
        var byVector = await client.QueryAsync(_collection, query: Vector(4, 1), usingVector: "dense", limit: 1, cancellationToken: Ct);
        Assert.Equal(PointIds.For(_collection, "doc-2", 0).ToString(), Assert.Single(byVector).Id.Uuid);
        var second = PointIds.For(_collection, "doc-2", 0);
        Assert.Equal(Vector(4, 1), (await reader.ReadVectorsAsync(_collection, [second], Ct))[second]);
    }

    [Fact]
    public async Task In_a_collection_with_Bm25_an_unnamed_vector_is_invalid_and_a_model_qdrant_cannot_run_is_refused()
    {
        var (client, writer, _) = Create(options => options.Bm25 = "english");
        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "pump", Vector(4))], Ct);

        var unnamed = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => client.UpsertAsync(_collection, [new PointStruct { Id = Guid.NewGuid(), Vectors = Vector(4) }], cancellationToken: Ct));
        var foreignModel = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => client.UpsertAsync(_collection, [new PointStruct
        {
            Id = Guid.NewGuid(),
            Vectors = new Dictionary<string, Vector> { ["dense"] = Vector(4), ["bm25"] = new Document { Text = "pump", Model = "acme/sparse-embedder" } },
        }], cancellationToken: Ct));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, unnamed.StatusCode);
        Assert.NotEqual(Grpc.Core.StatusCode.OK, foreignModel.StatusCode);
    }

    [Fact]
    public async Task After_its_alias_is_switched_to_a_collection_with_Bm25_a_writer_writes_as_the_new_collection_wants()
    {
        var (client, writer, _) = Create();
        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "before the switch", Vector(4))], Ct);
        var hybrid = new QdrantOptions { Collection = _collection, Bm25 = "english" };
        await client.CreateCollectionAsync(CollectionLayout.Request(_collection + "_v2", 4, hybrid), Ct);
        await client.UpdateAliasesAsync([
            new AliasOperations { DeleteAlias = new DeleteAlias { AliasName = _collection } },
            new AliasOperations { CreateAlias = new CreateAlias { AliasName = _collection, CollectionName = _collection + "_v2" } },
        ], cancellationToken: Ct);

        await writer.UpsertAsync(_collection, [Embedded("doc-2", 0, 1, "after the switch", Vector(4))], Ct);

        var written = await client.RetrieveAsync(_collection + "_v2", PointIds.For(_collection, "doc-2", 0), withPayload: false, withVectors: true, cancellationToken: Ct);
        // Read as the worker reads it: Qdrant before 1.17 sends the flat form, later ones the dense one.
        Assert.Equal(Vector(4), QdrantPointReader.VectorOf(Assert.Single(written)));
    }

    [Fact]
    public async Task After_its_alias_is_switched_to_a_collection_of_another_model_and_size_every_write_of_the_old_model_goes_back_to_be_embedded_again()
    {
        // The first such write refreshed what the replica knows of the collection; the second then found the known
        // shape current, and its size mismatch was taken for the job's fault: poisoned (seen in MigrationHistoryTests).
        var (client, writer, _) = Create();
        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "before the switch", Vector(4))], Ct);
        await client.CreateCollectionAsync(CollectionLayout.Request(_collection + "_v2", 6, new QdrantOptions { Collection = _collection },
            model: new CollectionModel("next/model", 6, null, false)), Ct);
        await client.UpdateAliasesAsync([
            new AliasOperations { CreateAlias = new CreateAlias { AliasName = _collection, CollectionName = _collection + "_v2" } },
        ], cancellationToken: Ct);

        await Assert.ThrowsAsync<CollectionChangedException>(() => writer.UpsertAsync(_collection, [Embedded("doc-2", 0, 1, "embedded before", Vector(4))], Ct));
        await Assert.ThrowsAsync<CollectionChangedException>(() => writer.UpsertAsync(_collection, [Embedded("doc-3", 0, 1, "embedded before too", Vector(4))], Ct));

        Assert.Empty(await client.RetrieveAsync(_collection + "_v2", PointIds.For(_collection, "doc-3", 0), withPayload: false, cancellationToken: Ct));
    }

    [Fact]
    public async Task The_server_is_a_release_the_worker_writes_to_and_the_test_says_which()
    {
        var (client, _, options) = Connect();

        var version = await QdrantVersionGate.CheckAsync(client, options, Ct);

        TestContext.Current.TestOutputHelper?.WriteLine($"Contract run against Qdrant {version} at {Endpoint}");
        Assert.True(version >= QdrantVersionGate.OrderingSince);
    }

    [Fact]
    public async Task Creating_an_alias_that_exists_points_it_anew_and_deleting_a_missing_alias_succeeds()
    {
        var (client, _, _) = Connect();
        await client.CreateCollectionAsync(_collection + "_a", new VectorParams { Size = 4, Distance = Distance.Cosine }, cancellationToken: Ct);
        await client.CreateCollectionAsync(_collection + "_b", new VectorParams { Size = 4, Distance = Distance.Cosine }, cancellationToken: Ct);
        await client.CreateAliasAsync(_collection, _collection + "_a", cancellationToken: Ct);

        await client.CreateAliasAsync(_collection, _collection + "_b", cancellationToken: Ct);
        await client.DeleteAliasAsync(_collection + "_never", cancellationToken: Ct);

        Assert.Equal(_collection + "_b", Assert.Single(await client.ListAliasesAsync(Ct), a => a.AliasName == _collection).CollectionName);
        Assert.True(await client.CollectionExistsAsync(_collection, Ct)); // an alias is found as its collection
    }

    [Fact]
    public async Task An_alias_update_is_applied_step_by_step_and_a_failing_step_keeps_the_steps_before_it()
    {
        var (client, _, _) = Connect();
        await client.CreateCollectionAsync(_collection + "_a", new VectorParams { Size = 4, Distance = Distance.Cosine }, cancellationToken: Ct);

        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => client.UpdateAliasesAsync([
            new AliasOperations { CreateAlias = new CreateAlias { AliasName = _collection, CollectionName = _collection + "_a" } },
            new AliasOperations { CreateAlias = new CreateAlias { AliasName = _collection + "_x", CollectionName = _collection + "_missing" } },
        ], cancellationToken: Ct));

        var aliases = (await client.ListAliasesAsync(Ct)).ToDictionary(a => a.AliasName, a => a.CollectionName);
        Assert.Equal(_collection + "_a", aliases[_collection]);
        Assert.False(aliases.ContainsKey(_collection + "_x"));
    }

    [Fact]
    public async Task A_new_collection_indexes_every_field_the_worker_filters_on()
    {
        var (client, writer, _) = Create();

        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "hello", Vector(4))], Ct);

        var schema = (await client.GetCollectionInfoAsync(_collection, Ct)).PayloadSchema;
        Assert.Equal(PayloadSchemaType.Keyword, schema["doc_id"].DataType);
        Assert.Equal(PayloadSchemaType.Integer, schema["chunk_index"].DataType);
        Assert.Equal(PayloadSchemaType.Integer, schema["version"].DataType);
        Assert.Equal(PayloadSchemaType.Datetime, schema["embedded_at"].DataType);
    }

    [Fact]
    public async Task In_strict_mode_without_unindexed_filtering_a_delete_on_an_unindexed_field_is_refused_but_the_worker_indexes_its_own_and_goes_on()
    {
        var (client, writer, ordering) = Create();
        // A collection made by hand (or by an older worker), hardened: only doc_id is indexed.
        var physical = _collection + "_v1";
        await client.CreateCollectionAsync(physical, new VectorParams { Size = 4, Distance = Distance.Cosine },
            strictModeConfig: new StrictModeConfig { Enabled = true, UnindexedFilteringUpdate = false }, cancellationToken: Ct);
        await client.CreatePayloadIndexAsync(physical, "doc_id", PayloadSchemaType.Keyword, cancellationToken: Ct);
        await client.CreateAliasAsync(_collection, physical, cancellationToken: Ct);
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => client.DeleteAsync(physical, Range("version", new Qdrant.Client.Grpc.Range { Lt = 1 }), cancellationToken: Ct));
        Assert.Equal(QdrantFailure.Refused, QdrantErrors.Classify(refused.StatusCode, refused.Status.Detail));

        await writer.UpsertAsync(_collection, Enumerable.Range(0, 3).Select(i => Embedded(Versioned("doc-1", 2), i, 3, $"v2 {i}", Vector(4, i))).ToList(), Ct);
        await writer.UpsertAsync(_collection, [Embedded(Versioned("doc-1", 3), 0, 1, "v3", Vector(4))], Ct);
        await ordering.DeleteStaleChunksAsync(_collection, [(new OrderedWrite("doc-1", 3L, null), 1)], Ct);
        await ordering.RetreatFromNewerAsync(_collection, [(_collection, new OrderedWrite("doc-1", 3L, null))], Ct);

        var point = Assert.Single(await PointsOf(client, "doc-1"));
        Assert.Equal(3, point.Payload["version"].IntegerValue);
    }

    [Fact]
    public async Task A_collection_deleted_under_the_worker_fails_one_write_and_the_next_creates_it_again()
    {
        var (client, writer, _) = Create();
        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "hello", Vector(4))], Ct);
        await client.DeleteCollectionAsync(_collection + "_v1", cancellationToken: Ct); // and with it its alias

        var missing = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => writer.UpsertAsync(_collection, [Embedded("doc-2", 0, 1, "again", Vector(4))], Ct));
        Assert.Equal(QdrantFailure.Missing, QdrantErrors.Classify(missing.StatusCode, missing.Status.Detail));
        await writer.UpsertAsync(_collection, [Embedded("doc-2", 0, 1, "again", Vector(4))], Ct);

        Assert.Single(await PointsOf(client, "doc-2"));
    }

    [Fact]
    public async Task A_keyword_match_on_an_array_field_matches_any_of_its_values()
    {
        var (client, writer, _) = Create();
        var tagged = new JobMessage("doc-1", JobOperation.Upsert, "hello", null, JsonDocument.Parse("""{"tags":["pumps","manuals"]}""").RootElement, _collection, [], null);
        await writer.UpsertAsync(_collection, [Embedded(tagged, 0, 1, "hello", Vector(4))], Ct);

        var found = await client.ScrollAsync(_collection, MatchKeyword("metadata.tags", "manuals"), limit: 10, cancellationToken: Ct);

        Assert.Single(found.Result);
    }

    [Fact]
    public async Task A_plain_collection_made_before_aliases_is_written_as_it_is()
    {
        var (client, writer, _) = Create();
        await client.CreateCollectionAsync(_collection, new VectorParams { Size = 4, Distance = Distance.Dot }, cancellationToken: Ct);

        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "hello", Vector(4))], Ct);

        Assert.DoesNotContain(await client.ListAliasesAsync(Ct), a => a.AliasName == _collection);
        Assert.Equal(1UL, await client.CountAsync(_collection, cancellationToken: Ct));
    }

    [Fact]
    public async Task Stored_point_carries_the_payload_contract()
    {
        var (client, writer, _) = Create();
        using var metadata = JsonDocument.Parse("""{"lang":"de","tags":["a","b"],"rank":3,"score":0.5,"ok":true,"none":null}""");
        var message = new JobMessage("doc-1", JobOperation.Upsert, "hello", "Title", metadata.RootElement.Clone(), _collection, [], 17);

        await writer.UpsertAsync(_collection, [Embedded(message, 0, 1, "hello", Vector(4))], Ct);

        var point = Assert.Single(await PointsOf(client, "doc-1"));
        Assert.Equal(PointIds.For(_collection, "doc-1", 0).ToString(), point.Id.Uuid);
        var payload = point.Payload;
        Assert.Equal("doc-1", payload["doc_id"].StringValue);
        Assert.Equal(0, payload["chunk_index"].IntegerValue);
        Assert.Equal(1, payload["chunk_count"].IntegerValue);
        Assert.Equal("hello", payload["text"].StringValue);
        Assert.Equal("Title", payload["title"].StringValue);
        Assert.Equal(17, payload["version"].IntegerValue);
        Assert.Equal("test/model", payload["model"].StringValue);
        Assert.Equal(ContentHash.Of("test/model", "hello"), payload["content_hash"].StringValue);
        Assert.True(DateTimeOffset.TryParse(payload["embedded_at"].StringValue, out _));
        var stored = payload["metadata"].StructValue.Fields;
        Assert.Equal("de", stored["lang"].StringValue);
        Assert.Equal(["a", "b"], stored["tags"].ListValue.Values.Select(v => v.StringValue));
        Assert.Equal(3, stored["rank"].IntegerValue);
        Assert.Equal(0.5, stored["score"].DoubleValue);
        Assert.True(stored["ok"].BoolValue);
        Assert.Equal(Value.KindOneofCase.NullValue, stored["none"].KindCase);
    }

    [Fact]
    public async Task Redelivered_job_overwrites_its_points_instead_of_adding_more()
    {
        var (client, writer, _) = Create();
        var chunks = Enumerable.Range(0, 3).Select(i => Embedded("doc-1", i, 3, $"part {i}", Vector(4, i))).ToList();

        await writer.UpsertAsync(_collection, chunks, Ct);
        await writer.UpsertAsync(_collection, chunks, Ct);

        Assert.Equal(3UL, await client.CountAsync(_collection, cancellationToken: Ct));
    }

    [Fact]
    public async Task Stale_tails_of_several_shrunk_documents_go_in_one_call_and_other_documents_stay()
    {
        var (client, writer, ordering) = Create();
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 5).Select(i => Embedded("doc-1", i, 5, $"old {i}", Vector(4, i))).ToList(), Ct);
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 4).Select(i => Embedded("doc-2", i, 4, $"other {i}", Vector(4, i))).ToList(), Ct);
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 6).Select(i => Embedded("doc-3", i, 6, $"old {i}", Vector(4, i))).ToList(), Ct);

        await writer.UpsertAsync(_collection, Enumerable.Range(0, 2).Select(i => Embedded("doc-1", i, 2, $"new {i}", Vector(4, i))).ToList(), Ct);
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 3).Select(i => Embedded("doc-3", i, 3, $"new {i}", Vector(4, i))).ToList(), Ct);
        await ordering.DeleteStaleChunksAsync(_collection, [(new OrderedWrite("doc-1", null, null), 2), (new OrderedWrite("doc-3", null, null), 3)], Ct);

        var first = await PointsOf(client, "doc-1");
        Assert.Equal([0L, 1L], first.Select(p => p.Payload["chunk_index"].IntegerValue).Order());
        Assert.All(first, p => Assert.StartsWith("new", p.Payload["text"].StringValue, StringComparison.Ordinal));
        var third = await PointsOf(client, "doc-3");
        Assert.Equal([0L, 1L, 2L], third.Select(p => p.Payload["chunk_index"].IntegerValue).Order());
        Assert.Equal(4, (await PointsOf(client, "doc-2")).Count);
    }

    [Fact]
    public async Task Two_versions_of_a_point_in_one_upsert_are_judged_against_the_state_before_it_and_the_last_is_written()
    {
        // Why one upsert request must never carry two versions of a document: both pass the guard.
        var (client, writer, _) = Create();
        await writer.UpsertAsync(_collection, [Embedded(Versioned("doc-1", 1), 0, 1, "v1", Vector(4, 1))], Ct);

        await writer.UpsertAsync(_collection, [Embedded(Versioned("doc-1", 6), 0, 1, "v6", Vector(4, 6)), Embedded(Versioned("doc-1", 3), 0, 1, "v3", Vector(4, 3))], Ct);

        var point = Assert.Single(await PointsOf(client, "doc-1"));
        Assert.Equal(3, point.Payload["version"].IntegerValue);
    }

    [Fact]
    public async Task An_older_version_that_lands_after_a_newer_ones_tail_delete_leaves_no_chunk_behind()
    {
        // Two replicas: v2 (3 chunks) is written and finished first; v1 (5 chunks) lands afterwards. Its chunks
        // 0-2 are held back by the guard, but 3 and 4 are new ids, which Qdrant inserts whatever the guard says.
        var (client, writer, ordering) = Create();
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 3).Select(i => Embedded(Versioned("doc-1", 2), i, 3, $"v2 {i}", Vector(4, i))).ToList(), Ct);
        await ordering.DeleteStaleChunksAsync(_collection, [(new OrderedWrite("doc-1", 2L, null), 3)], Ct);
        await ordering.RetreatFromNewerAsync(_collection, [(_collection, new OrderedWrite("doc-1", 2L, null))], Ct);

        await writer.UpsertAsync(_collection, Enumerable.Range(0, 5).Select(i => Embedded(Versioned("doc-1", 1), i, 5, $"v1 {i}", Vector(4, i))).ToList(), Ct);
        await ordering.DeleteStaleChunksAsync(_collection, [(new OrderedWrite("doc-1", 1L, null), 5)], Ct);
        await ordering.RetreatFromNewerAsync(_collection, [(_collection, new OrderedWrite("doc-1", 1L, null))], Ct);

        var points = await PointsOf(client, "doc-1");
        Assert.Equal([0L, 1L, 2L], points.Select(p => p.Payload["chunk_index"].IntegerValue).Order());
        Assert.All(points, p => Assert.Equal(2, p.Payload["version"].IntegerValue));
    }

    [Fact]
    public async Task Unversioned_jobs_of_one_document_on_two_replicas_never_leave_a_mix_whatever_lands_first()
    {
        // Replica A received its job (5 chunks) before replica B received its own (3 chunks); B lands and finishes
        // first. The job received last is the document's state, with none of A's chunks beside it.
        var (client, writer, ordering) = Create();
        var receivedA = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var receivedB = receivedA.AddMilliseconds(5);
        var b = Enumerable.Range(0, 3).Select(i => Received("doc-1", receivedB, i, 3, $"b {i}")).ToList();
        await writer.UpsertAsync(_collection, b, Ct);
        await ordering.DeleteStaleChunksAsync(_collection, [(new OrderedWrite("doc-1", null, receivedB), 3)], Ct);
        await ordering.RetreatFromNewerAsync(_collection, [(_collection, new OrderedWrite("doc-1", null, receivedB))], Ct);

        var a = Enumerable.Range(0, 5).Select(i => Received("doc-1", receivedA, i, 5, $"a {i}")).ToList();
        await writer.UpsertAsync(_collection, a, Ct);
        await ordering.DeleteStaleChunksAsync(_collection, [(new OrderedWrite("doc-1", null, receivedA), 5)], Ct);
        await ordering.RetreatFromNewerAsync(_collection, [(_collection, new OrderedWrite("doc-1", null, receivedA))], Ct);

        var points = await PointsOf(client, "doc-1");
        Assert.Equal(["b 0", "b 1", "b 2"], points.Select(p => p.Payload["text"].StringValue).Order());
    }

    [Fact]
    public async Task One_finish_removes_one_documents_stale_tail_and_retreats_another_from_the_newer_state_that_raced_it()
    {
        // doc-1 shrank from 4 chunks to 2; doc-2's older write (5 chunks) lands after a newer one (2 chunks) finished.
        var (client, writer, ordering) = Create();
        var before = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var older = before.AddMilliseconds(5);
        var newer = before.AddMilliseconds(10);
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 4).Select(i => Received("doc-1", before, i, 4, $"long {i}")).ToList(), Ct);
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 2).Select(i => Received("doc-2", newer, i, 2, $"new {i}")).ToList(), Ct);
        await ordering.FinishAsync(_collection, [(_collection, new OrderedWrite("doc-2", null, newer), 2)], Ct);

        await writer.UpsertAsync(_collection, [
            .. Enumerable.Range(0, 2).Select(i => Received("doc-1", older, i, 2, $"short {i}")),
            .. Enumerable.Range(0, 5).Select(i => Received("doc-2", older, i, 5, $"old {i}")),
        ], Ct);
        await ordering.FinishAsync(_collection, [(_collection, new OrderedWrite("doc-1", null, older), 2), (_collection, new OrderedWrite("doc-2", null, older), 5)], Ct);

        Assert.Equal(["short 0", "short 1"], (await PointsOf(client, "doc-1")).Select(p => p.Payload["text"].StringValue).Order());
        Assert.Equal(["new 0", "new 1"], (await PointsOf(client, "doc-2")).Select(p => p.Payload["text"].StringValue).Order());
    }

    [Fact]
    public async Task An_unversioned_delete_received_before_an_upsert_spares_it_and_its_tombstone_does_not_remove_it()
    {
        var (client, writer, ordering) = Create();
        var deleteReceived = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var upsertReceived = deleteReceived.AddMilliseconds(5);
        await writer.UpsertAsync(_collection, [Received("doc-1", upsertReceived, 0, 1, "kept")], Ct);
        await ordering.RetreatFromNewerAsync(_collection, [(_collection, new OrderedWrite("doc-1", null, upsertReceived))], Ct);

        // The delete lands after the upsert that another replica received after it.
        await ordering.RememberDeleteAsync(_collection, "doc-1", null, deleteReceived, Ct);
        await ordering.DeleteDocumentAsync(_collection, new OrderedWrite("doc-1", null, deleteReceived), Ct);
        await ordering.RetreatFromNewerAsync(_collection, [(_collection, new OrderedWrite("doc-1", null, upsertReceived))], Ct);

        Assert.Equal("kept", Assert.Single(await PointsOf(client, "doc-1")).Payload["text"].StringValue);
    }

    [Fact]
    public async Task A_newer_version_removes_an_older_ones_chunks_whatever_their_index()
    {
        // The other order: v1's five chunks are all there when v2 (3 chunks) finishes.
        var (client, writer, ordering) = Create();
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 5).Select(i => Embedded(Versioned("doc-1", 1), i, 5, $"v1 {i}", Vector(4, i))).ToList(), Ct);

        await writer.UpsertAsync(_collection, Enumerable.Range(0, 3).Select(i => Embedded(Versioned("doc-1", 2), i, 3, $"v2 {i}", Vector(4, i))).ToList(), Ct);
        await ordering.DeleteStaleChunksAsync(_collection, [(new OrderedWrite("doc-1", 2L, null), 3)], Ct);

        var points = await PointsOf(client, "doc-1");
        Assert.Equal(3, points.Count);
        Assert.All(points, p => Assert.Equal(2, p.Payload["version"].IntegerValue));
    }

    [Fact]
    public async Task A_document_of_a_thousand_chunks_of_4096_dimensions_is_written_and_its_vectors_read_back_whole()
    {
        // 1,000 vectors of 4096 floats are 16 MiB: four times what a gRPC client accepts in one answer by default.
        var (_, writer, _) = Create();
        var chunks = Enumerable.Range(0, 1_000).Select(i => Embedded("doc-1", i, 1_000, $"part {i}", Vector(4096, i))).ToList();
        foreach (var half in chunks.Chunk(500))
        {
            await writer.UpsertAsync(_collection, half, Ct);
        }

        var ids = Enumerable.Range(0, 1_000).Select(i => PointIds.For(_collection, "doc-1", i)).ToList();
        var vectors = await CreateReader().ReadVectorsAsync(_collection, ids, Ct);

        Assert.Equal(1_000, vectors.Count);
        Assert.Equal(Vector(4096, 999), vectors[ids[999]]);
        var stored = Assert.Single(await CreateReader().ReadDocumentsAsync(_collection, ["doc-1"], Ct)).Value;
        Assert.Equal(1_000, stored.ContentHashes.Count);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(256)]
    public async Task A_read_by_document_with_vectors_returns_every_point_of_many_documents_in_pages_sized_to_the_vectors(int dimensions)
    {
        // 128 points an answer at 4096 dimensions (2 MiB), 1,024 at 256: 1,100 points are nine scrolls or two.
        var (_, writer, _) = Create();
        var chunks = Enumerable.Range(0, 1_100).Select(i => Embedded($"doc-{i % 110}", i / 110, 10, $"part {i}", Vector(dimensions, i))).ToList();
        foreach (var part in chunks.Chunk(275))
        {
            await writer.UpsertAsync(_collection, part, Ct);
        }

        var scrollsBefore = Scrolls;
        var points = await CreateReader().ReadPointsAsync(_collection, [.. Enumerable.Range(0, 110).Select(d => $"doc-{d}")], null, Ct, (ulong)dimensions);

        Assert.Equal(dimensions == 4096 ? 9 : 2, Scrolls - scrollsBefore ?? (dimensions == 4096 ? 9 : 2));
        Assert.Equal(1_100, points.Select(p => p.Id.Uuid).Distinct().Count());
        var last = points.Single(p => p.Id.Uuid == PointIds.For(_collection, "doc-109", 9).ToString());
        Assert.Equal(Vector(dimensions, 1_099), QdrantPointReader.VectorOf(last));
        Assert.Equal("part 1099", last.Payload[PayloadFields.Text].StringValue);
    }

    [Fact]
    public async Task A_tombstone_keeps_the_highest_deleted_version_and_the_last_delete_and_lives_outside_the_collection()
    {
        var (client, writer, ordering) = Create();
        await writer.UpsertAsync(_collection, [Embedded(Versioned("doc-1", 3), 0, 1, "v3", Vector(4))], Ct);

        var at = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        await ordering.RememberDeleteAsync(_collection, "doc-1", 7, at, Ct);
        await ordering.RememberDeleteAsync(_collection, "doc-1", 5, at.AddSeconds(1), Ct);
        await ordering.RememberDeleteAsync(_collection, "doc-1", null, at.AddSeconds(2), Ct);
        await ordering.DeleteDocumentAsync(_collection, new OrderedWrite("doc-1", 7, null), Ct);

        Assert.Empty(await PointsOf(client, "doc-1"));
        var (_, _, options) = Connect();
        var tombstones = await new TombstoneStore(client, new QdrantCalls(ResiliencePipeline.Empty), options, TimeProvider.System).ReadAsync(_collection, ["doc-1", "doc-2"], Ct);
        var tombstone = Assert.Single(tombstones).Value;
        Assert.Equal(7, tombstone.Version);
        Assert.Equal(at.AddSeconds(2), tombstone.LastDeletedAt);
        Assert.Equal(0UL, await client.CountAsync(_collection, cancellationToken: Ct));
    }

    [Fact]
    public async Task Deleting_a_document_removes_all_its_points()
    {
        var (client, writer, ordering) = Create();
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 3).Select(i => Embedded("doc-1", i, 3, $"t {i}", Vector(4, i))).ToList(), Ct);
        await writer.UpsertAsync(_collection, [Embedded("doc-2", 0, 1, "keep", Vector(4))], Ct);

        await ordering.DeleteDocumentAsync(_collection, new OrderedWrite("doc-1", null, null), Ct);

        Assert.Empty(await PointsOf(client, "doc-1"));
        Assert.Single(await PointsOf(client, "doc-2"));
    }

    [Fact]
    public async Task Deleting_from_a_collection_that_does_not_exist_does_nothing()
    {
        var (_, writer, ordering) = Create();

        await ordering.DeleteDocumentAsync(_collection, new OrderedWrite("doc-1", null, null), Ct);
    }

    [Fact]
    public async Task Vector_of_the_wrong_dimension_is_rejected_permanently()
    {
        var (client, writer, _) = Create();
        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "four", Vector(4))], Ct);

        // A second replica (fresh provisioner cache) with a model of another dimension.
        var (_, otherWriter, _) = Create();
        var error = await Assert.ThrowsAsync<VectorStoreRejectedException>(() =>
            otherWriter.UpsertAsync(_collection, [Embedded("doc-2", 0, 1, "six", Vector(6))], Ct));

        Assert.Contains("dimension", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await PointsOf(client, "doc-2"));
    }

    [Fact]
    public async Task Qdrant_itself_rejects_a_vector_of_the_wrong_dimension_as_invalid_argument()
    {
        var (client, writer, _) = Create();
        await writer.UpsertAsync(_collection, [Embedded("doc-1", 0, 1, "four", Vector(4))], Ct);

        var error = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() =>
            client.UpsertAsync(_collection, [new PointStruct { Id = Guid.NewGuid(), Vectors = Vector(6) }], cancellationToken: Ct));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("Vector dimension error: expected dim: 4, got 6", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_older_version_does_not_overwrite_the_points_of_a_newer_one()
    {
        var (client, writer, _) = Create();
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 2).Select(i => Embedded(Versioned("doc-1", 3), i, 2, $"v3 {i}", Vector(4, i))).ToList(), Ct);
        await writer.UpsertAsync(_collection, [Embedded("doc-2", 0, 1, "unversioned", Vector(4))], Ct);

        // Both replicas read version 1 before either wrote: Qdrant's update_filter must decide.
        await writer.UpsertAsync(_collection,
            [.. Enumerable.Range(0, 2).Select(i => Embedded(Versioned("doc-1", 2), i, 2, $"v2 {i}", Vector(4, i))), Embedded(Versioned("doc-2", 1), 0, 1, "now versioned", Vector(4))], Ct);

        var first = await PointsOf(client, "doc-1");
        Assert.Equal(["v3 0", "v3 1"], first.Select(p => p.Payload["text"].StringValue).Order());
        Assert.All(first, p => Assert.Equal(3, p.Payload["version"].IntegerValue));
        Assert.Equal("now versioned", Assert.Single(await PointsOf(client, "doc-2")).Payload["text"].StringValue);
    }

    [Fact]
    public async Task A_newer_or_equal_version_overwrites()
    {
        var (client, writer, _) = Create();
        await writer.UpsertAsync(_collection, [Embedded(Versioned("doc-1", 3), 0, 1, "v3", Vector(4))], Ct);

        await writer.UpsertAsync(_collection, [Embedded(Versioned("doc-1", 3), 0, 1, "v3 again", Vector(4))], Ct);
        Assert.Equal("v3 again", Assert.Single(await PointsOf(client, "doc-1")).Payload["text"].StringValue);

        await writer.UpsertAsync(_collection, [Embedded(Versioned("doc-1", 4), 0, 1, "v4", Vector(4))], Ct);
        Assert.Equal("v4", Assert.Single(await PointsOf(client, "doc-1")).Payload["text"].StringValue);
    }

    [Fact]
    public async Task Deletes_and_tail_deletes_of_an_older_version_leave_a_newer_versions_points()
    {
        var (client, writer, ordering) = Create();
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 3).Select(i => Embedded(Versioned("doc-1", 5), i, 3, $"v5 {i}", Vector(4, i))).ToList(), Ct);

        await ordering.DeleteStaleChunksAsync(_collection, [(new OrderedWrite("doc-1", 4L, null), 1)], Ct);
        await ordering.DeleteDocumentAsync(_collection, new OrderedWrite("doc-1", 4, null), Ct);
        Assert.Equal(3, (await PointsOf(client, "doc-1")).Count);

        await ordering.DeleteStaleChunksAsync(_collection, [(new OrderedWrite("doc-1", 5L, null), 1)], Ct);
        Assert.Single(await PointsOf(client, "doc-1"));
        await ordering.DeleteDocumentAsync(_collection, new OrderedWrite("doc-1", 6, null), Ct);
        Assert.Empty(await PointsOf(client, "doc-1"));
    }

    [Fact]
    public async Task Reader_returns_the_version_and_chunk_hashes_of_the_documents_asked_for()
    {
        var (_, writer, _) = Create();
        var reader = CreateReader();
        Assert.Empty(await reader.ReadDocumentsAsync(_collection, ["doc-1"], Ct));
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 300).Select(i => Embedded(Versioned("doc-1", 7), i, 300, $"part {i}", Vector(4, i))).ToList(), Ct);
        await writer.UpsertAsync(_collection, [Embedded("doc-2", 0, 1, "unversioned", Vector(4)), Embedded("doc-3", 0, 1, "not asked", Vector(4))], Ct);

        var stored = await reader.ReadDocumentsAsync(_collection, ["doc-1", "doc-2", "doc-9"], Ct);

        Assert.Equal(["doc-1", "doc-2"], stored.Keys.Order());
        Assert.Equal(7, stored["doc-1"].Version);
        Assert.Equal(300, stored["doc-1"].ContentHashes.Count);
        Assert.True(stored["doc-1"].Holds(299, ContentHash.Of("test/model", "part 299")));
        Assert.False(stored["doc-1"].Holds(299, ContentHash.Of("test/model", "part 298")));
        Assert.Null(stored["doc-2"].Version);
        Assert.True(stored["doc-2"].Holds(0, ContentHash.Of("test/model", "unversioned")));
    }

    [Fact]
    public async Task Reader_returns_stored_vectors_by_point_id_and_leaves_out_missing_points()
    {
        var (_, writer, _) = Create();
        var reader = CreateReader();
        await writer.UpsertAsync(_collection, Enumerable.Range(0, 2).Select(i => Embedded("doc-1", i, 2, $"part {i}", Vector(4, i))).ToList(), Ct);
        var second = PointIds.For(_collection, "doc-1", 1);

        var vectors = await reader.ReadVectorsAsync(_collection, [second, PointIds.For(_collection, "doc-1", 7)], Ct);

        Assert.Equal(Vector(4, 1), Assert.Single(vectors, kv => kv.Key == second).Value);
    }

    private (QdrantClient Client, QdrantPointWriter Writer, DocumentOrdering Ordering) Create(Action<QdrantOptions>? configure = null)
    {
        var (client, provisioner, options) = Connect(configure);
        var calls = new QdrantCalls(ResiliencePipeline.Empty);
        return (client, new QdrantPointWriter(client, provisioner, new PointFactory(options, TimeProvider.System), calls),
            new DocumentOrdering(client, calls, new TombstoneStore(client, calls, options, TimeProvider.System)));
    }

    private QdrantPointReader CreateReader()
    {
        var (client, _, _) = Connect();
        return new QdrantPointReader(client, new QdrantCalls(ResiliencePipeline.Empty));
    }

    private (QdrantClient Client, CollectionProvisioner Provisioner, QdrantOptions Options) Connect(Action<QdrantOptions>? configure = null)
    {
        Assert.SkipWhen(Endpoint is null, SkipReason);
        var options = new QdrantOptions { Endpoint = Endpoint!, Collection = _collection };
        configure?.Invoke(options);
        var client = QdrantClients.Create(options, TimeSpan.Zero);
        return (client, new CollectionProvisioner(client, options, NullLogger<CollectionProvisioner>.Instance), options);
    }

    private JobMessage Versioned(string documentId, long version) =>
        new(documentId, JobOperation.Upsert, "text", null, null, _collection, [], version);

    protected virtual string SkipReason => "";

    private async Task<List<RetrievedPoint>> PointsOf(QdrantClient client, string documentId)
    {
        var page = await client.ScrollAsync(_collection, MatchKeyword("doc_id", documentId), limit: 100, cancellationToken: Ct);
        return page.Result.ToList();
    }

    private EmbeddedChunk Embedded(string documentId, int index, int count, string text, float[] vector) =>
        Embedded(new JobMessage(documentId, JobOperation.Upsert, text, null, null, _collection, [], null), index, count, text, vector);

    private static EmbeddedChunk Embedded(JobMessage message, int index, int count, string text, float[] vector, DateTimeOffset? receivedAt = null)
    {
        var job = new DocumentJob(new QueueLease("q", "m", "p", 1, ReadOnlyMemory<byte>.Empty), message);
        if (receivedAt is { } at)
        {
            job.Received(at);
        }
        return new EmbeddedChunk(new DocumentChunk(job, index, count, text, 1, "test/model", ContentHash.Of("test/model", text)), vector);
    }

    /// <summary>A chunk of an unversioned job that its replica received at <paramref name="at"/>.</summary>
    private EmbeddedChunk Received(string documentId, DateTimeOffset at, int index, int count, string text) =>
        Embedded(new JobMessage(documentId, JobOperation.Upsert, text, null, null, _collection, [], null), index, count, text, Vector(4, index), at);

    private static float[] Vector(int dimension, int seed = 0) => Enumerable.Range(0, dimension).Select(i => (float)(i + seed + 1)).ToArray();
}
