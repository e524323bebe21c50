using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.Tests.Batching;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.Tokens;

namespace Stackit.EmbeddingWorker.Tests.Embeddings;

public sealed class EmbeddingsServiceTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_batch_with_a_refused_input_is_split_and_only_the_job_of_that_input_is_rejected()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.RefusedMarker = "forbidden";
        using var stage = new Stage(server);
        var chunks = Enumerable.Range(0, 8).Select(i => Expecting(ChunkFactory.Chunk(10, id: $"doc-{i}", text: i == 5 ? "forbidden words" : $"short text {i}"))).ToList();

        await stage.Service.EmbedAsync(chunks, Cancel);

        var stored = await stage.EmbeddedAsync();
        Assert.Equal(["doc-0", "doc-1", "doc-2", "doc-3", "doc-4", "doc-6", "doc-7"], stored.Select(e => e.Chunk.Job.Message.Id).Order());
        var rejected = Assert.Single(await stage.OutcomesAsync());
        Assert.Equal(OutcomeKind.Rejected, rejected.Kind);
        Assert.Equal("doc-5", rejected.DocumentId);
        Assert.Contains("content this model refuses", rejected.Reason, StringComparison.Ordinal);
        // 8 → 4+4 → (2+2) → (1+1): the bad input is found in log2(8) extra rounds, not one request per input.
        Assert.InRange(server.Requests.Count, 4, 7);
    }

    [Fact]
    public async Task A_request_waits_for_the_budget_holding_its_slot_so_it_is_sent_the_moment_the_budget_admits_it()
    {
        // Waiting for the budget first and for a slot after let requests whose budget was granted at different
        // times reach the endpoint together when slots freed up: bursts the endpoint answered with 429.
        await using var server = await FakeEmbeddingServer.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // At the whole budget (no headroom): exactly one request a second.
        using var stage = new Stage(server, s =>
        {
            s["Embeddings:RequestsPerMinute"] = "60";
            s["Fleet:TargetUtilization"] = "1.0";
        }, time);
        var limit = stage.Services.GetRequiredService<Stackit.EmbeddingWorker.Embeddings.Throttling.AdaptiveConcurrencyLimit>();

        await stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(10, id: "first"))], Cancel);
        var second = stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(10, id: "second"))], Cancel);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (limit.InFlight == 0 && !second.IsCompleted && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(10, Cancel);
        }

        Assert.False(second.IsCompleted, "the budget of one request a second is spent until time moves on");
        Assert.Equal(1, limit.InFlight);
        Assert.Single(server.Requests);
        time.Advance(TimeSpan.FromSeconds(1));
        await second;
        Assert.Equal(2, server.Requests.Count);
        Assert.Equal(0, limit.InFlight);
    }

    [Fact]
    public async Task During_a_migration_the_targets_model_draws_on_its_own_budget_and_the_served_models_requests_are_not_held_behind_it()
    {
        // One request a second for each model: the target's copies spend the target's budget, not the served model's.
        await using var server = await FakeEmbeddingServer.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // At the whole budget (no headroom): exactly one request a second.
        using var stage = new Stage(server, s =>
        {
            s["Embeddings:RequestsPerMinute"] = "60";
            s["Fleet:TargetUtilization"] = "1.0";
        }, time);

        await stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(10, id: "copy-1") with { Model = "next/model" })], Cancel);
        var secondCopy = stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(10, id: "copy-2") with { Model = "next/model" })], Cancel);
        await stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(10, id: "live"))], Cancel).WaitAsync(TimeSpan.FromSeconds(10), Cancel);

        Assert.False(secondCopy.IsCompleted, "the target's budget of one request a second is spent");
        Assert.Equal(["next/model", ChunkFactory.Model], server.Requests.Select(r => r.Model));
        time.Advance(TimeSpan.FromSeconds(1));
        await secondCopy.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task With_part_of_a_shared_budget_a_batch_goes_out_in_requests_of_at_most_one_second_of_that_part()
    {
        // Replicas send at moments nobody coordinates: if each sent full requests, a few arriving together would
        // overrun the short burst the endpoint allows. 600,000 TPM × 1/4 = 2,500 tokens a second for this replica.
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var stage = new Stage(server, s => s["Embeddings:TokensPerMinute"] = "600000");
        var budget = stage.Services.GetRequiredService<RateBudgets>().For(ChunkFactory.Model);
        var chunks = SixteenDocuments(600);

        await stage.Service.EmbedAsync(chunks, Cancel);
        Assert.Single(server.Requests);

        budget.SetShare(0.25);
        await stage.Service.EmbedAsync(chunks, Cancel);

        var split = server.Requests.Skip(1).ToList();
        Assert.Equal(4, split.Count);
        Assert.All(split, r => Assert.Equal(4, r.Inputs.Count));
        Assert.Equal(32, (await stage.EmbeddedAsync()).Count);
    }

    [Fact]
    public async Task A_batch_that_waited_for_a_slot_while_the_share_fell_is_cut_to_the_new_share_when_it_is_sent()
    {
        // Batches taken while a replica held the whole budget (alone for its first heartbeat) waited for a slot and
        // went out whole long after its share had halved: 2,900-token requests beside 300-token ones, and 429s.
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.Latency = TimeSpan.FromMilliseconds(300);
        using var stage = new Stage(server, s => s["Embeddings:TokensPerMinute"] = "2400000");
        var budget = stage.Services.GetRequiredService<RateBudgets>().For(ChunkFactory.Model);
        var first = stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(10, id: "first"))], Cancel);
        await RequestInFlightAsync(stage);

        // 16 × 1,000 tokens fit the whole budget's requests (16,384) but not a quarter's (10,000 a second).
        var waiting = stage.Service.EmbedAsync(SixteenDocuments(1_000), Cancel);
        budget.SetShare(0.25);
        await Task.WhenAll(first, waiting);

        var later = server.Requests.Skip(1).Select(r => r.Inputs.Count).ToList();
        Assert.Equal([10, 6], later);
        Assert.Equal(17, (await stage.EmbeddedAsync()).Count);
    }

    [Fact]
    public async Task A_batch_cut_to_a_small_share_sends_the_rest_whole_once_the_share_has_grown_back()
    {
        // A replica starts at a quarter (it may be one of four starting together) and learns at its next heartbeat
        // that it is alone. Batches cut to the quarter all at once went on in quarter-sized requests for 20 s after
        // that (benchmark limiter-faults: single-input requests, 92 % of the budget in the first minute).
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.Latency = TimeSpan.FromMilliseconds(300);
        using var stage = new Stage(server, s => s["Embeddings:TokensPerMinute"] = "600000");
        var budget = stage.Services.GetRequiredService<RateBudgets>().For(ChunkFactory.Model);
        budget.SetShare(0.25);

        // 16 × 600 tokens: a quarter's requests (2,500 tokens a second) take 4 of them, the whole budget's all 16.
        var sending = stage.Service.EmbedAsync(SixteenDocuments(600), Cancel);
        await RequestInFlightAsync(stage);
        budget.SetShare(1);
        await sending;

        Assert.Equal([4, 12], server.Requests.Select(r => r.Inputs.Count));
        Assert.Equal(16, (await stage.EmbeddedAsync()).Count);
    }

    [Fact]
    public async Task An_input_refused_as_too_long_gets_its_job_chunked_again_smaller_and_every_word_embedded()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.MaxInputTokens = 40;
        using var stage = new Stage(server, s =>
        {
            s["Embeddings:MaxInputTokens"] = "40";
            s["Chunking:MaxChunkTokens"] = "40";
            s["Chunking:OverlapTokens"] = "8";
        });
        var words = Enumerable.Range(0, 60).Select(i => $"w{i:00}").ToList();
        var text = string.Join(' ', words);
        // As if the estimate had let the whole text through as one input: 60 × 4 bytes = 60 tokens > 40.
        var tooLong = Expecting(ChunkFactory.Chunk(20, id: "long", text: text));

        await stage.EmbedWithRechunkingAsync([tooLong]);

        Assert.Empty(await stage.OutcomesAsync());
        Assert.True(tooLong.Job.Progress.IsSettled, "the first generation is abandoned");
        var embedded = await stage.EmbeddedAsync();
        Assert.All(embedded, e => Assert.Equal(1, e.Chunk.Job.Generation));
        Assert.All(embedded, e => Assert.InRange(FakeEmbeddingServer.CountTokens(e.Chunk.Text), 1, 40));
        Assert.Equal(Enumerable.Range(0, embedded.Count), embedded.Select(e => e.Chunk.Index).Order());
        Assert.All(embedded, e => Assert.Equal(embedded.Count, e.Chunk.Count));
        Assert.Equal(words, embedded.OrderBy(e => e.Chunk.Index).SelectMany(e => e.Chunk.Text.Split(' ')).Distinct());
        Assert.Equal(embedded[0].Chunk.Job.Progress.ExpectedChunks, embedded.Count);
    }

    [Fact]
    public async Task An_input_still_too_long_after_the_last_generation_is_rejected_with_the_servers_message()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.MaxInputTokens = 1;
        using var stage = new Stage(server);
        var chunk = Expecting(ChunkFactory.Chunk(20, id: "hopeless", text: string.Join(' ', Enumerable.Repeat("word", 100))));

        await stage.EmbedWithRechunkingAsync([chunk]);

        var rejected = Assert.Single(await stage.OutcomesAsync());
        Assert.Equal(OutcomeKind.Rejected, rejected.Kind);
        Assert.Contains("maximum context length is 1 tokens", rejected.Reason, StringComparison.Ordinal);
        Assert.Empty(await stage.EmbeddedAsync());
    }

    [Fact]
    public async Task The_usage_of_every_answer_calibrates_the_token_estimate()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var stage = new Stage(server);
        var calibration = stage.Services.GetRequiredService<TokenCalibration>();
        Assert.False(calibration.IsCalibrated);
        var chunks = Enumerable.Range(0, 64).Select(i => Expecting(ChunkFactory.Chunk(10, id: $"d{i}", text: new string('a', 400) + i))).ToList();

        await stage.Service.EmbedAsync(chunks, Cancel);

        Assert.True(calibration.IsCalibrated);
        // The server counts a quarter of the bytes; the estimate comes down from a third to within the margin.
        Assert.InRange(calibration.TokensPerByte, 0.24, 0.25 * 1.05 + 0.001);
    }

    [Fact]
    public async Task A_batch_that_keeps_failing_transiently_fails_each_of_its_jobs_once_for_a_later_retry()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        for (var i = 0; i < 10; i++)
        {
            server.EnqueueFault(HttpStatusCode.BadGateway);
        }
        using var stage = new Stage(server);
        var first = ChunkFactory.Chunk(10, id: "a");
        var second = first with { Index = 1 };
        var other = ChunkFactory.Chunk(10, id: "b");

        await stage.Service.EmbedAsync([first, second, other], Cancel);

        var failed = await stage.OutcomesAsync();
        Assert.Equal(["a", "b"], failed.Select(f => f.DocumentId).Order());
        Assert.All(failed, f => Assert.Equal(OutcomeKind.Failed, f.Kind));
    }

    [Fact]
    public async Task A_tokenizer_file_that_counts_short_of_the_endpoint_is_named_in_an_error_at_most_once_a_minute()
    {
        // Exact counts do not learn from answers: a file that is not the model's tokenizer would let chunks and
        // requests go over their limits for good, and nothing said so.
        await using var server = await FakeEmbeddingServer.StartAsync();
        var directory = Directory.CreateTempSubdirectory("tokenizer-");
        using var removal = new DirectoryRemoval(directory);
        var tokenizer = Path.Combine(directory.FullName, "other-model.tiktoken");
        TiktokenFile.Write(tokenizer);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new List<string>();
        using var stage = new Stage(server, s => s["Embeddings:TokenizerFile"] = tokenizer, time, logs);

        // The server counts a token for four bytes: 10 for each of these 40-byte inputs, which the worker counted at 2.
        var text = new string('x', 40);
        await stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(2, id: "a", text: text)), Expecting(ChunkFactory.Chunk(2, id: "b", text: text))], Cancel);
        await stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(2, id: "c", text: text))], Cancel);
        time.Advance(TimeSpan.FromMinutes(1));
        await stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(12, id: "d", text: text))], Cancel);
        await stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(2, id: "e", text: text))], Cancel);

        var errors = logs.Where(l => l.StartsWith("Error", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Contains("counted 20 tokens for a request of 2 inputs that Embeddings:TokenizerFile", errors[0], StringComparison.Ordinal);
        Assert.Contains("other-model.tiktoken", errors[0], StringComparison.Ordinal);
        Assert.Contains("counted at 4", errors[0], StringComparison.Ordinal);
        Assert.Contains("counted 10 tokens for a request of 1 inputs", errors[1], StringComparison.Ordinal);
        Assert.Contains("counted at 2", errors[1], StringComparison.Ordinal);
        Assert.Equal(5, (await stage.EmbeddedAsync()).Count);
    }

    [Fact]
    public async Task An_estimate_the_endpoint_counts_over_is_only_noted_since_the_estimate_learns_from_it()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        var logs = new List<string>();
        using var stage = new Stage(server, logs: logs);

        await stage.Service.EmbedAsync([Expecting(ChunkFactory.Chunk(2, id: "a", text: new string('x', 40)))], Cancel);

        var note = Assert.Single(logs, l => l.Contains("counted 10 tokens", StringComparison.Ordinal));
        Assert.StartsWith("Information", note, StringComparison.Ordinal);
        Assert.Contains("estimated at 2", note, StringComparison.Ordinal);
    }

    private sealed class DirectoryRemoval(DirectoryInfo directory) : IDisposable
    {
        public void Dispose() => directory.Delete(recursive: true);
    }

    /// <summary>Until the endpoint has a request of the stage's in hand (at most 10 s).</summary>
    private static async Task RequestInFlightAsync(Stage stage)
    {
        var limit = stage.Services.GetRequiredService<AdaptiveConcurrencyLimit>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (limit.InFlight == 0 && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(5, Cancel);
        }
        Assert.True(limit.InFlight > 0, "a request is in flight");
    }

    /// <summary>One chunk of <paramref name="tokens"/> of each of 16 documents, each expected by its job.</summary>
    private static List<DocumentChunk> SixteenDocuments(int tokens) =>
        Enumerable.Range(0, 16).Select(i => Expecting(ChunkFactory.Chunk(tokens, id: $"doc-{i}", text: $"text {i}"))).ToList();

    private static DocumentChunk Expecting(DocumentChunk chunk)
    {
        chunk.Job.Progress.Expect(1);
        return chunk;
    }

    /// <summary>The stage as the worker builds it, with its output channels open to the test.</summary>
    private sealed class Stage : IDisposable
    {
        private readonly Channel<EmbeddedChunk> _embedded = Channel.CreateUnbounded<EmbeddedChunk>();
        private readonly Channel<JobOutcome> _outcomes = Channel.CreateUnbounded<JobOutcome>();
        private readonly Channel<Rechunk> _rechunks = Channel.CreateUnbounded<Rechunk>();
        private readonly ILoggerFactory? _loggers;

        public Stage(FakeEmbeddingServer server, Action<Dictionary<string, string?>>? configure = null, TimeProvider? time = null, List<string>? logs = null)
        {
            Services = EmbeddingClientFactory.Services(server, time, configure);
            var context = TestPipeline.Context(lifecycle: new JobLifecycle(_outcomes.Writer), circuits: Services.GetRequiredService<DependencyCircuits>(), time: time);
            object[] arguments = [Channel.CreateUnbounded<EmbeddingBatch>().Reader, _embedded.Writer, _rechunks.Writer, context];
            if (logs is not null)
            {
                _loggers = LoggerFactory.Create(b => b.AddProvider(new TestOutputLoggerProvider(TestContext.Current.TestOutputHelper!, logs)));
                arguments = [.. arguments, _loggers.CreateLogger<EmbeddingsService>()];
            }
            Service = ActivatorUtilities.CreateInstance<EmbeddingsService>(Services, arguments);
        }

        /// <summary>
        /// Embeds the chunks, and the chunks of every job sent back as too long, cut again as Preparation does when
        /// it takes the job from the rechunk channel.
        /// </summary>
        public async Task EmbedWithRechunkingAsync(IReadOnlyList<DocumentChunk> chunks)
        {
            await Service.EmbedAsync(chunks, Cancel);
            while (_rechunks.Reader.TryRead(out var rechunk))
            {
                await Service.EmbedAsync(Services.GetRequiredService<JobChunker>().Chunk(rechunk.Job), Cancel);
            }
        }

        public ServiceProvider Services { get; }

        public EmbeddingsService Service { get; }

        public async Task<List<EmbeddedChunk>> EmbeddedAsync()
        {
            _embedded.Writer.TryComplete();
            return await _embedded.Reader.ReadAllAsync(Cancel).ToListAsync(Cancel);
        }

        public async Task<List<JobOutcome>> OutcomesAsync()
        {
            _outcomes.Writer.TryComplete();
            return await _outcomes.Reader.ReadAllAsync(Cancel).ToListAsync(Cancel);
        }

        public void Dispose()
        {
            Services.Dispose();
            _loggers?.Dispose();
        }
    }
}
