using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>What the point contract (docs/qdrant.md) says a stored <see cref="JobCorpus.GoodJob"/> looks like.</summary>
internal static class StoredJobs
{
    public static void AssertStored(StandInStore store, JobCorpus.GoodJob job)
    {
        var points = store.Points(job.Collection)
            .Where(p => p.Payload[PayloadFields.DocumentId].StringValue == job.Id)
            .OrderBy(p => p.Payload[PayloadFields.ChunkIndex].IntegerValue)
            .ToList();
        Assert.NotEmpty(points);
        if (job.Long)
        {
            Assert.True(points.Count > 1, $"{job.Id} is long and must be chunked");
        }
        for (var i = 0; i < points.Count; i++)
        {
            var point = points[i];
            var text = point.Payload[PayloadFields.Text].StringValue;
            Assert.Equal(i, point.Payload[PayloadFields.ChunkIndex].IntegerValue);
            Assert.Equal(points.Count, point.Payload[PayloadFields.ChunkCount].IntegerValue);
            Assert.Equal(PointIds.For(job.Collection, job.Id, i).ToString(), point.Id.Uuid);
            Assert.Equal(FakeEmbeddingServer.VectorFor(text, 8), point.Vector);
            Assert.Contains(text, job.Text, StringComparison.Ordinal);
            Assert.Equal("test/e5-like", point.Payload[PayloadFields.Model].StringValue);
            Assert.Equal(64, point.Payload[PayloadFields.ContentHash].StringValue.Length);
            Assert.Equal(Value.KindOneofCase.StructValue, point.Payload[PayloadFields.Metadata].KindCase);
        }
        // Every word of the document is in some chunk: nothing was truncated.
        var stored = string.Join(" ", points.Select(p => p.Payload[PayloadFields.Text].StringValue));
        Assert.All(job.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), word => Assert.Contains(word, stored, StringComparison.Ordinal));
    }

    public static HashSet<string> DocumentIds(StandInStore store, string collection) =>
        store.Points(collection).Select(p => p.Payload[PayloadFields.DocumentId].StringValue).ToHashSet();
}
