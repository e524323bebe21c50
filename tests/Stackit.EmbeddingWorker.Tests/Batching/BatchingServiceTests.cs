using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Batching;

public sealed class BatchingServiceTests
{
    private readonly Channel<DocumentChunk> _chunks = Channel.CreateUnbounded<DocumentChunk>();
    private readonly Channel<EmbeddingBatch> _batches = Channel.CreateUnbounded<EmbeddingBatch>();
    private readonly FakeTimeProvider _time = new();

    private BatchingService Start(int maxInputs, TimeSpan maxDelay)
    {
        var service = new BatchingService(_chunks.Reader, _batches.Writer,
            new BatchingOptions { MaxInputsPerRequest = maxInputs, MaxTokensPerRequest = 10_000, MaxDelay = maxDelay }, TestPipeline.Context(time: _time));
        service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    [Fact]
    public async Task Partial_batch_lingers_until_MaxDelay_then_flushes()
    {
        using var service = Start(maxInputs: 8, maxDelay: TimeSpan.FromMilliseconds(200));
        var ct = TestContext.Current.CancellationToken;
        var started = _time.GetUtcNow();

        await _chunks.Writer.WriteAsync(ChunkFactory.Chunk(10), ct);
        await _chunks.Writer.WriteAsync(ChunkFactory.Chunk(10, index: 1), ct);
        var batch = await AdvanceUntilBatchAsync();

        Assert.Equal(2, batch.Chunks.Count);
        Assert.True(_time.GetUtcNow() - started >= TimeSpan.FromMilliseconds(200), "a partial batch must wait MaxDelay for more inputs");
        _chunks.Writer.TryComplete();
        await service.StopAsync(ct);
    }

    [Fact]
    public async Task Full_batch_leaves_without_waiting_for_the_linger()
    {
        using var service = Start(maxInputs: 3, maxDelay: TimeSpan.FromMinutes(1));
        var ct = TestContext.Current.CancellationToken;

        for (var i = 0; i < 3; i++)
        {
            await _chunks.Writer.WriteAsync(ChunkFactory.Chunk(10, index: i), ct);
        }

        // No time is advanced: only a batch handed out at once can be read.
        var batch = await _batches.Reader.ReadAsync(ct);
        Assert.Equal(3, batch.Chunks.Count);
        _chunks.Writer.TryComplete();
        await service.StopAsync(ct);
    }

    [Fact]
    public async Task Inputs_arriving_during_the_linger_join_the_same_batch()
    {
        using var service = Start(maxInputs: 8, maxDelay: TimeSpan.FromMilliseconds(100));
        var ct = TestContext.Current.CancellationToken;

        await _chunks.Writer.WriteAsync(ChunkFactory.Chunk(10), ct);
        for (var i = 0; i < 6; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Yield();
        }
        await _chunks.Writer.WriteAsync(ChunkFactory.Chunk(10, index: 1), ct);

        var batch = await AdvanceUntilBatchAsync();
        Assert.Equal(2, batch.Chunks.Count);
        _chunks.Writer.TryComplete();
        await service.StopAsync(ct);
    }

    [Fact]
    public async Task At_shutdown_the_partial_batch_leaves_at_once_and_the_batch_channel_completes()
    {
        using var service = Start(maxInputs: 8, maxDelay: TimeSpan.FromHours(1));
        var ct = TestContext.Current.CancellationToken;
        await _chunks.Writer.WriteAsync(ChunkFactory.Chunk(10), ct);
        await _chunks.Writer.WriteAsync(ChunkFactory.Chunk(10, index: 1), ct);

        // Preparation completes the chunk channel at shutdown; no clock moves, yet the batch leaves and the stage ends.
        _chunks.Writer.TryComplete();
        var drained = await _batches.Reader.ReadAllAsync(ct).ToListAsync(ct);
        await service.StopAsync(ct);

        Assert.Equal(2, Assert.Single(drained).Chunks.Count);
    }

    [Fact]
    public async Task A_linger_that_runs_out_leaves_the_wait_for_chunks_pending_instead_of_cancelling_it()
    {
        // A cancelled channel wait throws inside the channel; under load a linger runs out about once per batch,
        // and every one of those exceptions shows in the runtime's exception count (dotnet.exceptions).
        var watched = new WatchedReader(_chunks.Reader);
        var service = new BatchingService(watched, _batches.Writer,
            new BatchingOptions { MaxInputsPerRequest = 8, MaxTokensPerRequest = 10_000, MaxDelay = TimeSpan.FromMilliseconds(50) }, TestPipeline.Context(time: _time));
        var ct = TestContext.Current.CancellationToken;
        await service.StartAsync(ct);

        for (var i = 0; i < 3; i++)
        {
            await _chunks.Writer.WriteAsync(ChunkFactory.Chunk(10, index: i), ct);
            Assert.Single((await AdvanceUntilBatchAsync()).Chunks);
        }

        Assert.Equal(0, watched.CancelledWaits);
        _chunks.Writer.TryComplete();
        await service.StopAsync(ct);
        service.Dispose();
    }

    /// <summary>The chunk channel, counting the waits that ended cancelled.</summary>
    private sealed class WatchedReader(ChannelReader<DocumentChunk> inner) : ChannelReader<DocumentChunk>
    {
        private int _cancelledWaits;

        public int CancelledWaits => Volatile.Read(ref _cancelledWaits);

        public override bool TryRead([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out DocumentChunk item) => inner.TryRead(out item);

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            var wait = inner.WaitToReadAsync(cancellationToken).AsTask();
            _ = wait.ContinueWith(t => Interlocked.Increment(ref _cancelledWaits), CancellationToken.None,
                TaskContinuationOptions.OnlyOnCanceled | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return new ValueTask<bool>(wait);
        }
    }

    /// <summary>Moves the fake clock a millisecond at a time until a batch comes out.</summary>
    private async Task<EmbeddingBatch> AdvanceUntilBatchAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        EmbeddingBatch? batch;
        while (!_batches.Reader.TryRead(out batch))
        {
            ct.ThrowIfCancellationRequested();
            _time.Advance(TimeSpan.FromMilliseconds(1));
            await Task.Delay(1, ct);
        }
        return batch;
    }
}
