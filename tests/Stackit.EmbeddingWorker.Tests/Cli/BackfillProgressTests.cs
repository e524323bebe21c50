using Google.Protobuf.Collections;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Cli;

namespace Stackit.EmbeddingWorker.Tests.Cli;

public sealed class BackfillProgressTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 22, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_time_left_follows_the_pace_since_the_start()
    {
        var progress = new BackfillProgress(Start, Pages: 400, Documents: 12_800, Chunks: 51_200, Tokens: 20_000_000);

        var line = progress.Describe(queuedPages: 300, copiedChunks: 12_000, now: Start.AddHours(1));

        Assert.Equal("100 of 400 pages done (25 %), 12,000 of 51,200 chunks in the target, ~5,000,000 of ~20,000,000 tokens, 1 h 00 min so far, ETA 3 h 00 min", line);
    }

    [Fact]
    public void A_copy_that_takes_every_vector_from_the_source_counts_no_tokens()
    {
        var progress = new BackfillProgress(Start, Pages: 400, Documents: 12_800, Chunks: 51_200, Tokens: 0);

        var line = progress.Describe(queuedPages: 300, copiedChunks: 12_000, now: Start.AddMinutes(1));

        Assert.Equal("100 of 400 pages done (25 %), 12,000 of 51,200 chunks in the target, vectors copied from the source, 1 min so far, ETA 3 min", line);
    }

    [Fact]
    public void Before_a_page_is_done_the_time_left_is_unknown_and_more_queued_than_planned_counts_as_none_done()
    {
        var progress = new BackfillProgress(Start, Pages: 10, Documents: 320, Chunks: 900, Tokens: 90_000);

        Assert.EndsWith("ETA unknown until a page is done", progress.Describe(queuedPages: 14, copiedChunks: 0, now: Start.AddMinutes(5)), StringComparison.Ordinal);
        Assert.StartsWith("0 of 10 pages done (0 %)", progress.Describe(queuedPages: 14, copiedChunks: 0, now: Start.AddMinutes(5)), StringComparison.Ordinal);
        Assert.EndsWith("ETA done", progress.Describe(queuedPages: 0, copiedChunks: 900, now: Start.AddMinutes(7)), StringComparison.Ordinal);
    }

    [Fact]
    public void The_record_survives_the_collection_metadata_and_a_collection_without_one_has_none()
    {
        var progress = new BackfillProgress(Start, 400, 12_800, 51_200, 20_000_000);
        var metadata = new MapField<string, Value>();
        foreach (var (key, value) in progress.ToMetadata())
        {
            metadata[key] = value;
        }

        Assert.Equal(progress, BackfillProgress.From(metadata));
        Assert.Null(BackfillProgress.From(new MapField<string, Value>()));
        Assert.Null(BackfillProgress.From(null));
    }
}
