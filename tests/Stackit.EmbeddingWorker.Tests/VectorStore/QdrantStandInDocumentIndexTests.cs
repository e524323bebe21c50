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

    [Fact]
    public void A_scroll_page_starts_at_the_first_id_at_or_after_its_offset_with_a_filter_or_without()
    {
        foreach (var id in new ulong[] { 11, 12, 13, 14, 15, 16 })
        {
            Upsert(id, id % 2 == 0 ? "doc-even" : "doc-odd", chunk: (int)id);
        }
        var even = Document("doc-even");
        var notFirst = new Filter { MustNot = { new Condition { Field = new FieldCondition { Key = PayloadFields.ChunkIndex, Match = new Match { Integer = 11 } } } } };

        Assert.Equal(["11", "12", "13"], Page(null, null, 3));
        Assert.Equal(["14", "15", "16"], Page(null, "14", 5));
        Assert.Equal(["12", "13"], Page(notFirst, null, 2));
        Assert.Equal(["14", "16"], Page(even, "13", 5));
        // The offset was deleted meanwhile: the page goes on after it, as Qdrant's does, and does not start over.
        Assert.Equal(1, _store.Delete(new DeletePoints { CollectionName = Collection, Wait = true, Points = new PointsSelector { Points = new PointsIdsList { Ids = { new PointId { Num = 14 } } } } }));
        Assert.Equal(["15", "16"], Page(null, "14", 5));
        Assert.Equal(["16"], Page(even, "14", 5));
        Assert.Empty(Page(null, "17", 5));
    }

    private List<string> Page(Filter? filter, string? from, int count) => [.. _store.Page(Collection, filter, from, count).Select(p => p.Key)];

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
