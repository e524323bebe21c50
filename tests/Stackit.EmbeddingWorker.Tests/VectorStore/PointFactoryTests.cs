using System.Text.Json;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>The payload contract of a point, and what building it costs per chunk.</summary>
public sealed class PointFactoryTests
{
    [Fact]
    public void A_jobs_metadata_is_converted_once_and_shared_by_all_its_points()
    {
        // Converted per point, 1 MiB of metadata on 128 chunks allocated over a GiB; now it counts once per job.
        using var metadata = JsonDocument.Parse("""{"lang":"de","tags":["a","b"],"owner":{"team":"pumps"}}""");
        var job = new DocumentJob(new QueueLease("q", "m", "p", 1, ReadOnlyMemory<byte>.Empty),
            new JobMessage("doc-1", JobOperation.Upsert, "text", "Title", metadata.RootElement.Clone(), "documents", [], null));
        var factory = new PointFactory(new QdrantOptions { Collection = "documents" }, TimeProvider.System);

        var points = Enumerable.Range(0, 3)
            .Select(i => factory.Create(new EmbeddedChunk(new DocumentChunk(job, i, 3, $"chunk {i}", 1, "test/model", ContentHash.Of("test/model", $"chunk {i}")), [1f, 2f]), new CollectionShape(2)))
            .ToList();

        var shared = points[0].Payload[PayloadFields.Metadata];
        Assert.All(points, p => Assert.Same(shared, p.Payload[PayloadFields.Metadata]));
        Assert.Equal("pumps", shared.StructValue.Fields["owner"].StructValue.Fields["team"].StringValue);
        Assert.Equal(["a", "b"], shared.StructValue.Fields["tags"].ListValue.Values.Select(v => v.StringValue));
    }

    [Fact]
    public void In_a_hybrid_collection_a_point_carries_the_named_dense_vector_and_its_text_for_qdrants_bm25()
    {
        var job = new DocumentJob(new QueueLease("q", "m", "p", 1, ReadOnlyMemory<byte>.Empty),
            new JobMessage("doc-1", JobOperation.Upsert, "text", null, null, "documents", [], null));
        var factory = new PointFactory(new QdrantOptions { Collection = "documents" }, TimeProvider.System);
        var hybrid = new CollectionShape(2, "german");

        var point = factory.Create(new EmbeddedChunk(new DocumentChunk(job, 0, 1, "Pumpe prüfen", 1, "test/model", "h"), [1f, 2f]), hybrid);
        var imageOnly = factory.Create(new EmbeddedChunk(new DocumentChunk(job, 0, 1, "", 1, "test/vl", "h"), [1f, 2f]), hybrid);
        var plain = factory.Create(new EmbeddedChunk(new DocumentChunk(job, 0, 1, "Pumpe prüfen", 1, "test/model", "h"), [1f, 2f]), new CollectionShape(2));

        var vectors = point.Vectors.Vectors_.Vectors;
        Assert.Equal([1f, 2f], vectors["dense"].Dense.Data);
        Assert.Equal("Pumpe prüfen", vectors["bm25"].Document.Text);
        Assert.Equal("qdrant/bm25", vectors["bm25"].Document.Model);
        Assert.Equal("german", vectors["bm25"].Document.Options["language"].StringValue);
        Assert.Equal(["dense"], imageOnly.Vectors.Vectors_.Vectors.Keys);
        Assert.Equal([1f, 2f], plain.Vectors.Vector.Dense.Data);
    }
}
