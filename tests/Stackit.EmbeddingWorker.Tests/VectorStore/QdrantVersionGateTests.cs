using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>Which Qdrant the worker writes to (<see cref="QdrantVersionGate"/>).</summary>
public sealed class QdrantVersionGateTests
{
    [Theory]
    [InlineData("1.16.3", null, "1.16.3")]
    [InlineData("1.15.4", null, "1.15.4")]
    [InlineData("1.19.0", null, "1.19.0")]
    [InlineData("1.17.0-dev", null, "1.17.0")]
    [InlineData("", "1.16.3", "1.16.3")]
    [InlineData("unknown", "1.15.5", "1.15.5")]
    [InlineData("1.16.3", "1.10.0", "1.16.3")] // what Qdrant reports wins
    public void A_release_that_keeps_the_order_of_writes_is_written_to(string reported, string? assumed, string expected)
    {
        var (version, refusal) = QdrantVersionGate.Judge(reported, assumed, bm25: true);

        Assert.Null(refusal);
        Assert.Equal(Version.Parse(expected), version);
    }

    [Theory]
    [InlineData("1.15.3", null, "Qdrant 1.15.3 is older than 1.15.4")]
    [InlineData("1.14.1", null, "drop update_filter and collection metadata unread")]
    [InlineData("", null, "Set Qdrant:AssumeVersion")]
    [InlineData("stand-in", null, "reports no version the worker can read ('stand-in'; a proxy may hide it)")]
    [InlineData("", "1.15.0", "Qdrant:AssumeVersion 1.15.0 is older than 1.15.4")]
    public void An_older_release_or_one_that_does_not_say_is_refused_with_the_reason(string reported, string? assumed, string reason)
    {
        var (_, refusal) = QdrantVersionGate.Judge(reported, assumed, bm25: false);

        Assert.NotNull(refusal);
        Assert.Contains(reason, refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Below_1_15_3_a_bm25_configuration_is_named_too()
    {
        Assert.Contains("Qdrant:Bm25 needs Qdrant 1.15.3 or later", QdrantVersionGate.Judge("1.15.2", null, bm25: true).Refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("Bm25", QdrantVersionGate.Judge("1.15.3", null, bm25: true).Refusal, StringComparison.Ordinal);
    }
}
