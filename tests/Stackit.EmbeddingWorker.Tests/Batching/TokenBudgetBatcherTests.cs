using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Tests.Batching;

public sealed class TokenBudgetBatcherTests
{
    [Fact]
    public void A_multimodal_input_is_a_batch_of_its_own_and_the_pending_text_batch_stays_open()
    {
        var batcher = new TokenBudgetBatcher(new BatchingOptions { MaxInputsPerRequest = 3, MaxTokensPerRequest = 1_000 });
        Assert.Empty(batcher.Add(ChunkFactory.Chunk(10, "a")));

        var alone = Assert.Single(batcher.Add(ChunkFactory.Chunk(2_000, "picture", images: ["data:image/png;base64,AAAA"])));

        Assert.Equal("picture", Assert.Single(alone.Chunks).Job.Message.Id);
        Assert.Equal(1, batcher.Count);
        Assert.Equal("a", Assert.Single(batcher.Flush()!.Chunks).Job.Message.Id);
    }

    [Fact]
    public void Batch_is_cut_at_the_input_limit_and_handed_out_at_once()
    {
        var batcher = new TokenBudgetBatcher(new BatchingOptions { MaxInputsPerRequest = 3, MaxTokensPerRequest = 1_000 });

        Assert.Empty(batcher.Add(ChunkFactory.Chunk(10)));
        Assert.Empty(batcher.Add(ChunkFactory.Chunk(10)));
        var full = Assert.Single(batcher.Add(ChunkFactory.Chunk(10)));

        Assert.Equal(3, full.Chunks.Count);
        Assert.Equal(30, Tokens(full));
        Assert.Equal(0, batcher.Count);
    }

    [Fact]
    public void Batch_is_cut_before_the_token_limit_would_be_exceeded()
    {
        var batcher = new TokenBudgetBatcher(new BatchingOptions { MaxInputsPerRequest = 100, MaxTokensPerRequest = 100 });

        Assert.Empty(batcher.Add(ChunkFactory.Chunk(60)));
        var cut = Assert.Single(batcher.Add(ChunkFactory.Chunk(50)));

        Assert.Equal(60, Tokens(cut));
        Assert.Equal(1, batcher.Count);
    }

    [Fact]
    public void Batch_that_reaches_the_token_limit_exactly_leaves_at_once()
    {
        var batcher = new TokenBudgetBatcher(new BatchingOptions { MaxInputsPerRequest = 100, MaxTokensPerRequest = 100 });

        Assert.Empty(batcher.Add(ChunkFactory.Chunk(40)));
        var full = Assert.Single(batcher.Add(ChunkFactory.Chunk(60)));

        Assert.Equal(100, Tokens(full));
    }

    [Fact]
    public void Packing_random_chunks_never_exceeds_either_limit_and_keeps_every_chunk_in_order()
    {
        var options = new BatchingOptions { MaxInputsPerRequest = 16, MaxTokensPerRequest = 2_048 };
        var batcher = new TokenBudgetBatcher(options);
        var random = new Random(42);
        var chunks = Enumerable.Range(0, 5_000).Select(i => ChunkFactory.Chunk(random.Next(1, 700), index: i)).ToList();

        var batches = chunks.SelectMany(batcher.Add).ToList();
        if (batcher.Flush() is { } last)
        {
            batches.Add(last);
        }

        Assert.All(batches, b =>
        {
            Assert.InRange(b.Chunks.Count, 1, options.MaxInputsPerRequest);
            Assert.InRange(Tokens(b), 1, options.MaxTokensPerRequest);
        });
        Assert.Equal(chunks, batches.SelectMany(b => b.Chunks));
    }

    [Fact]
    public void Flush_hands_out_the_partial_batch_once()
    {
        var batcher = new TokenBudgetBatcher(new BatchingOptions { MaxInputsPerRequest = 10, MaxTokensPerRequest = 1_000 });
        batcher.Add(ChunkFactory.Chunk(5));

        Assert.Single(batcher.Flush()!.Chunks);
        Assert.Null(batcher.Flush());
    }

    private static int Tokens(EmbeddingBatch batch) => batch.Chunks.Sum(c => c.Tokens);
}
