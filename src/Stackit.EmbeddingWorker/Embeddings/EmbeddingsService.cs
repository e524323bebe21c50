using System.Threading.Channels;
using Polly.Timeout;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Tokens;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>
/// Keeps as many requests in flight as the endpoint sustains (at most <c>Embeddings:MaxConcurrency</c>) within
/// the rate budget. A batch the server refuses for its inputs
/// is split in halves until the offending input stands alone; an input refused as too long gets its job
/// chunked anew at a smaller size, any other refused input has its job rejected. Every answer's usage
/// calibrates the token estimate.
/// </summary>
internal sealed partial class EmbeddingsService(
    ChannelReader<EmbeddingBatch> batches,
    ChannelWriter<EmbeddedChunk> embedded,
    ChannelWriter<Rechunk> rechunks,
    IEmbeddingClient client,
    EndpointAdmission admission,
    EmbeddingsOptions options,
    TokenCalibration calibration,
    PipelineContext context,
    ILogger<EmbeddingsService> logger,
    ChannelReader<EmbeddingBatch>? copyBatches = null) : BackgroundService
{
    /// <summary>Each generation halves the chunk size; after this many the input is refused for good.</summary>
    internal const int MaxGenerations = 3;

    private static readonly TimeSpan UndercountLogInterval = TimeSpan.FromMinutes(1);

    private long _lastUndercountLog = long.MinValue;

    /// <summary>
    /// Drains on shutdown: ends when the batch channels are complete and every batch is answered. Every request loop
    /// takes a live batch first; with a copy lane, one loop takes live batches only, so a live batch never waits for a
    /// loop while every loop holds a copy batch that waits for its model's budget.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        context.Shutdown.DrainAsync(
            abort => Task.WhenAll(Enumerable.Range(0, options.MaxConcurrency)
                .Select(loop => RunWorkerAsync(new BatchLanes(batches, loop == 0 && options.MaxConcurrency > 1 ? null : copyBatches), abort))),
            () => embedded.TryComplete());

    private async Task RunWorkerAsync(BatchLanes lanes, CancellationToken stoppingToken)
    {
        while (await lanes.ReadAsync(stoppingToken).ConfigureAwait(false) is { } batch)
        {
            await EmbedAsync(batch.Chunks, stoppingToken).ConfigureAwait(false);
        }
    }

    internal async Task EmbedAsync(IReadOnlyList<DocumentChunk> chunks, CancellationToken cancellationToken)
    {
        // Chunks of a job that already failed elsewhere need no vectors.
        var live = chunks.Where(c => !c.Job.Progress.IsSettled).ToList();
        if (live.Count == 0)
        {
            return;
        }

        EmbeddingResult result;
        try
        {
            if (await SendAsync(live, cancellationToken).ConfigureAwait(false) is not { } answer)
            {
                // This replica holds only part of the shared budget now: smaller requests, so the fleet's never pile up.
                // Each part is cut to the share at the moment it is taken, so a share that grows back (a replica past
                // its first heartbeats, or one whose peers left) sends the rest as one request.
                var rest = live;
                while (rest.Count > 0)
                {
                    var part = FittingPrefix(rest, admission.MaxRequestTokens(rest[0].Model));
                    await EmbedAsync(rest[..part], cancellationToken).ConfigureAwait(false);
                    rest = rest[part..];
                }
                return;
            }
            result = answer;
        }
        catch (EmbeddingRequestException ex) when (ex.IsInputProblem && live.Count > 1)
        {
            LogSplitting(live.Count, (int)ex.Status);
            var half = live.Count / 2;
            await EmbedAsync(live[..half], cancellationToken).ConfigureAwait(false);
            await EmbedAsync(live[half..], cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (EmbeddingRequestException ex) when (ex.IsTooLong && !live[0].IsMultimodal && live[0].Job.Generation < MaxGenerations)
        {
            Rechunk(live[0], ex);
            return;
        }
        catch (EmbeddingRequestException ex) when (ex.IsInputProblem)
        {
            var chunk = live[0];
            context.Lifecycle.Rejected(chunk.Job, $"the embeddings endpoint rejected chunk {chunk.Index} ({(int)ex.Status}): {ex.ServerMessage}");
            return;
        }
        catch (EmbeddingResponseException ex)
        {
            // The endpoint answered, but not with what was asked: the batch is tried again later.
            LogBatchFailed(live.Count, ex.Message);
            FailAll(live, ex.Message);
            return;
        }
        catch (Exception ex) when (ex is EmbeddingRequestException or HttpRequestException or TimeoutRejectedException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Unreachable, throttling beyond the retries, failing, or refusing the worker's credentials.
            LogBatchFailed(live.Count, ex.Message);
            context.DependencyFailed(context.Circuits.Embeddings, live.Select(c => c.Job).Distinct(), ex);
            return;
        }
        context.Circuits.Embeddings.Success();

        // Image tokens are not text: only text-only answers calibrate the text estimate.
        if (result.PromptTokens is { } promptTokens && !live[0].IsMultimodal)
        {
            calibration.Observe(live.Aggregate(default(ScriptBytes), (sum, c) => sum + ScriptBytes.Of(c.Text)), live.Count, promptTokens);
            CheckCount(live, promptTokens);
        }
        for (var i = 0; i < live.Count; i++)
        {
            await embedded.WriteAsync(new EmbeddedChunk(live[i], result.Vectors[i]), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The worker's counts must not fall short of the endpoint's, or chunks and requests can be over their limits.
    /// Estimates learn from the answer; exact counts cannot, so a tokenizer file that is not the model's is named
    /// (logged at most once a minute; every such request is counted in the metric).
    /// </summary>
    private void CheckCount(List<DocumentChunk> chunks, int promptTokens)
    {
        var counted = chunks.Sum(c => c.Tokens);
        if (promptTokens <= counted)
        {
            return;
        }
        context.Metrics.Undercounted();
        var now = context.Time.GetTimestamp();
        var last = Interlocked.Read(ref _lastUndercountLog);
        if ((last != long.MinValue && context.Time.GetElapsedTime(last, now) < UndercountLogInterval) || Interlocked.CompareExchange(ref _lastUndercountLog, now, last) != last)
        {
            return;
        }
        if (options.TokenizerFile is { Length: > 0 } file)
        {
            LogTokenizerUndercounts(promptTokens, chunks.Count, counted, file);
        }
        else
        {
            LogEstimateShort(promptTokens, chunks.Count, counted);
        }
    }

    /// <summary>How many leading chunks fit <paramref name="most"/> tokens (at least one: a larger chunk runs alone).</summary>
    private static int FittingPrefix(List<DocumentChunk> chunks, int most)
    {
        var count = 1;
        var tokens = chunks[0].Tokens;
        while (count < chunks.Count && tokens + chunks[count].Tokens <= most)
        {
            tokens += chunks[count++].Tokens;
        }
        return count;
    }

    /// <summary>Sends through the <see cref="EndpointAdmission"/>: a slot, the rate budget of the chunks' model, then the request.</summary>
    private Task<EmbeddingResult?> SendAsync(List<DocumentChunk> chunks, CancellationToken cancellationToken) =>
        admission.SendAsync(chunks[0].Model, chunks.Sum(c => c.Tokens), chunks.Count, token => chunks is [{ IsMultimodal: true } multimodal]
            ? client.EmbedMultimodalAsync(multimodal.Text, multimodal.Job.Message.Images, token)
            : client.EmbedAsync(chunks[0].Model, chunks[0].Dimensions, chunks.ConvertAll(c => c.Text), token), cancellationToken, backfill: chunks.TrueForAll(c => c.Job.Copy is not null));

    /// <summary>
    /// The estimate let a chunk through that the model cannot take. The lifecycle ends the job's current generation
    /// (its chunks still in the pipeline are dropped) and it goes back to Preparation to be chunked again, smaller.
    /// Points already stored are overwritten by id or removed as the stale tail.
    /// </summary>
    private void Rechunk(DocumentChunk refused, EmbeddingRequestException ex)
    {
        calibration.ObserveTooLong(ScriptBytes.Of(refused.Text), options.MaxInputTokens, ex.CountedTokens);
        if (context.Lifecycle.GiveBackForRechunking(refused.Job) is not { } job)
        {
            return;
        }
        LogRechunking(job.Message.Id, refused.Index, job.Generation, ex.ServerMessage);
        if (!rechunks.TryWrite(new Rechunk(job)))
        {
            // Preparation has stopped (shutdown): the message stays leased and is handed back for another replica.
            LogRechunkAfterStop(job.Message.Id);
        }
    }

    private void FailAll(List<DocumentChunk> chunks, string reason)
    {
        foreach (var job in chunks.Select(c => c.Job).Distinct())
        {
            context.Lifecycle.Failed(job, reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Embeddings endpoint refused a batch of {Count} inputs ({Status}); splitting it to find the input at fault")]
    private partial void LogSplitting(int count, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chunk {ChunkIndex} of document {DocumentId} is too long for the model; its job goes back to be chunked again (generation {Generation}): {ServerMessage}")]
    private partial void LogRechunking(string documentId, int chunkIndex, int generation, string serverMessage);

    [LoggerMessage(Level = LogLevel.Information, Message = "Document {DocumentId} was not chunked again: the pipeline is stopping; its message is handed back")]
    private partial void LogRechunkAfterStop(string documentId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The endpoint counted {Counted} tokens for a request of {Inputs} inputs that Embeddings:TokenizerFile ({TokenizerFile}) counted at {Expected}: the file does not count as the model does (is it the model's tokenizer?), so chunks and requests can be over their limits")]
    private partial void LogTokenizerUndercounts(int counted, int inputs, int expected, string tokenizerFile);

    [LoggerMessage(Level = LogLevel.Information, Message = "The endpoint counted {Counted} tokens for a request of {Inputs} inputs estimated at {Estimated}; the estimate learns from it")]
    private partial void LogEstimateShort(int counted, int inputs, int estimated);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedding a batch of {Count} inputs failed after retries: {Reason}")]
    private partial void LogBatchFailed(int count, string reason);
}
