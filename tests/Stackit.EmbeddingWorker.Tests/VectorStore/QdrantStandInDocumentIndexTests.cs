using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>
/// The Qdrant STAND-IN looks up the points of the documents a filter names instead of scanning the collection:
/// it must find exactly what a scan finds, also after a point changed documents or went.
/// </summary>
public sealed class QdrantStandInDocumentIndexTests
{
    private const string Collection = "docs";
    private readonly StandInStore _store = new();

    public QdrantStandInDocumentIndexTests() =>
        _store.Create(new CreateCollection { CollectionName = Collection, VectorsConfig = new VectorsConfig { Params = new VectorParams { Size = 2, Distance = Distance.Cosine } } });

    [Fact]
    public void A_point_written_again_under_another_document_is_found_under_that_one_only()
    {
        Upsert(1, "doc-a", chunk: 0);
        Upsert(1, "doc-b", chunk: 0);

        Assert.Empty(_store.Matching(Collection, Document("doc-a")));
        Assert.Equal(["1"], Keys(Document("doc-b")));
        Assert.Equal(1, Delete(Document("doc-b")));
        Assert.Empty(_store.Matching(Collection, Document("doc-a")));
        Assert.Empty(_store.Points(Collection));
    }

    [Fact]
    public void Filters_that_name_documents_in_musts_or_in_every_should_find_what_a_scan_finds()
    {
        for (var chunk = 0; chunk < 4; chunk++)
        {
            Upsert((ulong)(10 + chunk), "doc-a", chunk);
            Upsert((ulong)(20 + chunk), "doc-b", chunk);
            Upsert((ulong)(30 + chunk), "doc-c", chunk);
        }
        Upsert(40, document: null, chunk: 0);

        var tailOfA = Document("doc-a");
        tailOfA.Must.Add(new Condition { Field = new FieldCondition { Key = PayloadFields.ChunkIndex, Range = new Qdrant.Client.Grpc.Range { Gte = 2 } } });
        var tails = new Filter { Should = { new Condition { Filter = tailOfA }, new Condition { Filter = Document("doc-c") } } };
        var anyOfTwo = new Filter { Must = { new Condition { Field = new FieldCondition { Key = PayloadFields.DocumentId, Match = new Match { Keywords = new RepeatedStrings { Strings = { "doc-b", "doc-x" } } } } } } };
        var notNamed = new Filter { Should = { new Condition { Filter = Document("doc-a") }, new Condition { Field = new FieldCondition { Key = PayloadFields.ChunkIndex, Match = new Match { Integer = 3 } } } } };

        Assert.Equal(["12", "13", "30", "31", "32", "33"], Keys(tails));
        Assert.Equal(["20", "21", "22", "23"], Keys(anyOfTwo));
        Assert.Equal(["10", "11", "12", "13", "23", "33"], Keys(notNamed));
        Assert.Equal(6, Delete(tails));
        Assert.Equal(["10", "11", "20", "21", "22", "23", "40"], _store.Points(Collection).Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    private void Upsert(ulong id, string? document, int chunk)
    {
        var point = new PointStruct { Id = new PointId { Num = id }, Vectors = new[] { 0.6f, 0.8f }, Payload = { [PayloadFields.ChunkIndex] = chunk } };
        if (document is not null)
        {
            point.Payload[PayloadFields.DocumentId] = document;
        }
        _store.Upsert(new UpsertPoints { CollectionName = Collection, Wait = true, Points = { point } });
    }

    private int Delete(Filter filter) =>
        _store.Delete(new DeletePoints { CollectionName = Collection, Wait = true, Points = new PointsSelector { Filter = filter } });

    private List<string> Keys(Filter filter) => [.. _store.Matching(Collection, filter).Select(p => p.Key)];

    private static Filter Document(string id) =>
        new() { Must = { new Condition { Field = new FieldCondition { Key = PayloadFields.DocumentId, Match = new Match { Keyword = id } } } } };
}
