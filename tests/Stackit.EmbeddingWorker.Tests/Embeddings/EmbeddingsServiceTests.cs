using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Acknowledgement;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Tests.Batching;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Embeddings;

public sealed class EmbeddingsServiceTests
{
    [Fact]
    public async Task A_batch_refused_as_too_long_is_split_and_only_the_job_of_the_long_input_is_rejected()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.MaxInputTokens = 50;
        using var services = EmbeddingClientFactory.Services(server);
        var embedded = Channel.CreateUnbounded<EmbeddedChunk>();
        var outcomes = Channel.CreateUnbounded<JobOutcome>();
        var service = new EmbeddingsService(Channel.CreateUnbounded<EmbeddingBatch>().Reader, embedded.Writer, services.Client(),
            services.GetRequiredService<EmbeddingsOptions>(), new OutcomeReporter(outcomes.Writer), NullLogger<EmbeddingsService>.Instance);
        var chunks = Enumerable.Range(0, 8).Select(i => ChunkFactory.Chunk(10, id: $"doc-{i}", text: i == 5 ? new string('z', 400) : $"short text {i}")).ToList();
        foreach (var chunk in chunks)
        {
            chunk.Job.Progress.Expect(1);
        }

        await service.EmbedAsync(chunks, TestContext.Current.CancellationToken);

        embedded.Writer.Complete();
        var stored = await embedded.Reader.ReadAllAsync(TestContext.Current.CancellationToken).Select(e => e.Chunk.Job.Message.Id).ToListAsync(TestContext.Current.CancellationToken);
        Assert.Equal(["doc-0", "doc-1", "doc-2", "doc-3", "doc-4", "doc-6", "doc-7"], stored.Order());
        Assert.True(outcomes.Reader.TryRead(out var rejected));
        Assert.Equal(OutcomeKind.Rejected, rejected.Kind);
        Assert.Equal("doc-5", rejected.DocumentId);
        Assert.Contains("maximum context length is 50 tokens", rejected.Reason, StringComparison.Ordinal);
        Assert.False(outcomes.Reader.TryRead(out _));
        // 8 → 4+4 → (2+2) → (1+1): the bad input is found in log2(8) extra rounds, not one request per input.
        Assert.InRange(server.Requests.Count, 4, 7);
    }

    [Fact]
    public async Task A_batch_that_keeps_failing_transiently_fails_each_of_its_jobs_once_for_a_later_retry()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        for (var i = 0; i < 10; i++)
        {
            server.EnqueueFault(System.Net.HttpStatusCode.BadGateway);
        }
        using var services = EmbeddingClientFactory.Services(server);
        var outcomes = Channel.CreateUnbounded<JobOutcome>();
        var service = new EmbeddingsService(Channel.CreateUnbounded<EmbeddingBatch>().Reader, Channel.CreateUnbounded<EmbeddedChunk>().Writer, services.Client(),
            services.GetRequiredService<EmbeddingsOptions>(), new OutcomeReporter(outcomes.Writer), NullLogger<EmbeddingsService>.Instance);
        var first = ChunkFactory.Chunk(10, id: "a");
        var second = first with { Index = 1 };
        var other = ChunkFactory.Chunk(10, id: "b");

        await service.EmbedAsync([first, second, other], TestContext.Current.CancellationToken);

        outcomes.Writer.Complete();
        var failed = await outcomes.Reader.ReadAllAsync(TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        Assert.Equal(["a", "b"], failed.Select(f => f.DocumentId).Order());
        Assert.All(failed, f => Assert.Equal(OutcomeKind.Failed, f.Kind));
    }
}
