using System.Text;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Cli;

namespace Stackit.EmbeddingWorker.Tests.Backfill;

public sealed class BackfillPageTests
{
    [Theory]
    [InlineData("documents", "documents_v1", "documents_v2")]
    [InlineData("documents", "documents_v9", "documents_v10")]
    [InlineData("documents", "legacy_store", "documents_v2")]
    [InlineData("documents", "documents_vX", "documents_v2")]
    public void The_next_collection_counts_the_version_up(string alias, string source, string expected) =>
        Assert.Equal(expected, BackfillPlanner.NextVersion(alias, source));

    [Fact]
    public void Pages_carry_at_most_the_page_size_and_read_back_as_written()
    {
        var pages = BackfillPage.For("documents", "documents_v1", "documents_v2", Enumerable.Range(0, 10).Select(i => $"doc-{i}"), 4).ToList();

        Assert.Equal([4, 4, 2], pages.Select(p => p.Ids.Count));
        var read = BackfillPage.Parse(BinaryData.FromString(pages[2].ToJson()), out var error);
        Assert.Null(error);
        Assert.Equal(pages[2].Ids, read!.Ids);
        Assert.Equal("documents_v2", read.Target);
        Assert.Equal("documents_v1", read.ReadFrom);
    }

    [Fact]
    public void Pages_of_long_non_ascii_ids_are_split_to_fit_a_queue_message()
    {
        // 32 ids of 512 characters that JSON escapes to six bytes each: one page would be 98 KiB, over the
        // 64 KiB a queue message holds, and recording a live change would fail the live job again and again.
        var ids = Enumerable.Range(0, 32).Select(i => $"{i:D2}" + new string('ü', 510)).ToList();

        var pages = BackfillPage.For("documents", "documents_v1", "documents_v2", ids, 32).ToList();

        Assert.True(pages.Count > 1);
        Assert.All(pages, p => Assert.InRange(Encoding.UTF8.GetByteCount(p.ToJson()), 1, BackfillPage.MaxPageBytes));
        Assert.Equal(ids, pages.SelectMany(p => p.Ids));
    }

    [Fact]
    public void A_page_without_a_source_reads_through_its_alias() =>
        Assert.Equal("documents", BackfillPage.Parse(BinaryData.FromString("""{"alias":"documents","target":"documents_v2","ids":["a"]}"""), out _)!.ReadFrom);

    [Theory]
    [InlineData("not json", "must be JSON")]
    [InlineData("""{"alias":"documents","target":"documents_v2","ids":[]}""", "non-empty 'ids'")]
    [InlineData("""{"alias":"documents","ids":["a"]}""", "'target'")]
    [InlineData("""{"alias":"documents","target":"documents_v2","ids":[""]}""", "non-empty 'ids'")]
    public void A_message_that_is_no_page_says_why(string body, string reason)
    {
        Assert.Null(BackfillPage.Parse(BinaryData.FromString(body), out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
