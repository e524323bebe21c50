using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

public sealed class PointIdsTests
{
    [Fact]
    public void Name_based_uuid_matches_the_rfc_test_vector()
    {
        // RFC 9562 / Python's uuid.uuid5(uuid.NAMESPACE_DNS, "python.org").
        var dns = new Guid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");

        Assert.Equal(new Guid("886313e1-3b8a-5372-9b90-0c9aee199e5d"), PointIds.NameBased(dns, "python.org"));
    }

    [Fact]
    public void Same_collection_document_and_chunk_give_the_same_id()
    {
        Assert.Equal(PointIds.For("documents", "manual-42", 3), PointIds.For("documents", "manual-42", 3));
    }

    [Fact]
    public void Ids_differ_by_collection_document_and_chunk()
    {
        var ids = new[]
        {
            PointIds.For("documents", "manual-42", 0),
            PointIds.For("documents", "manual-42", 1),
            PointIds.For("documents", "manual-43", 0),
            PointIds.For("manuals", "manual-42", 0),
        };

        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Equal(5, id.Version));
    }
}
